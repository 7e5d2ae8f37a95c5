//! Policy validation: every mistake is an error that names the key.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

fn parse(toml_text: &str) -> Result<Policy> {
    let raw: RawGrants = toml::from_str(toml_text)?;
    Policy::from_raw(&raw, &BTreeMap::new(), Path::new("/"))
}

#[test]
fn directories_are_canonical_and_guest_paths_strict() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("files = [{{ host = {:?}, guest = \"/data\", mode = \"ro\" }}]", dir.path());
    let policy = parse(&text).unwrap();
    assert_eq!(policy.files[0].host, dir.path().canonicalize().unwrap());
    assert_eq!(policy.files[0].mode, FileMode::Ro);
    for (guest, why) in
        [("data", "must be absolute"), ("/a/../b", "must not contain"), ("/", "is not allowed")]
    {
        let text = format!("files = [{{ host = {:?}, guest = {guest:?}, mode = \"rw\" }}]", dir.path());
        let error = format!("{:#}", parse(&text).unwrap_err());
        assert!(error.contains(why), "{guest}: {error}");
    }
    let missing = format!(
        "{:#}",
        parse("files = [{ host = \"/no/such/dir\", guest = \"/x\", mode = \"ro\" }]").unwrap_err()
    );
    assert!(missing.contains("grants.files[0]") && missing.contains("does not exist"), "{missing}");
    let bad_mode = format!(
        "{:#}",
        parse("files = [{ host = \"/tmp\", guest = \"/x\", mode = \"write\" }]").unwrap_err()
    );
    assert!(bad_mode.contains("unknown variant `write`"), "{bad_mode}");
    let twice = format!(
        "files = [{{ host = {0:?}, guest = \"/x\", mode = \"ro\" }}, {{ host = {0:?}, guest = \"/x\", mode = \"rw\" }}]",
        dir.path()
    );
    assert!(format!("{:#}", parse(&twice).unwrap_err()).contains("granted twice"));
}

#[test]
fn environment_network_and_typos() {
    let policy =
        parse("env = { A = \"1\" }\ntcp_connect = [\"127.0.0.1:5432\"]\nname_lookup = true").unwrap();
    assert_eq!(policy.env["A"], "1");
    assert_eq!(policy.tcp_connect, ["127.0.0.1:5432".parse::<SocketAddr>().unwrap()]);
    assert!(
        format!("{:#}", parse("tcp_connect = [\"db.local:5432\"]").unwrap_err())
            .contains("names are not allowed")
    );
    assert!(
        format!("{:#}", parse("env_from_host = [\"MOAT_SURELY_UNSET_VARIABLE\"]").unwrap_err())
            .contains("not set")
    );
    assert!(format!("{:#}", parse("http = [\"https://x.com\"]").unwrap_err()).contains("invalid type"));
    assert!(format!("{:#}", parse("network = true").unwrap_err()).contains("unknown field `network`"));
    let headers = format!(
        "{:#}",
        parse("http = [{ url = \"https://x.com\", headers = { Authorization = \"Bearer {TOKEN}\" } }]")
            .unwrap_err()
    );
    assert!(headers.contains("grants.http[0]") && headers.contains("names no secret"), "{headers}");
}

#[test]
fn imports_without_grants_are_reported() {
    let policy = parse("").unwrap();
    let warnings = policy.ungranted_imports(&[
        "wasi:filesystem/types@0.2.6".into(),
        "wasi:http/outgoing-handler@0.2.6".into(),
    ]);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}
