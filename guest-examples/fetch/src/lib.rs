//! Fetching URLs as a moat tool. What it can reach, and with which
//! credentials, is entirely the host's grant.

wit_bindgen::generate!({ world: "fetch", path: "wit" });

struct Fetch;

impl Guest for Fetch {
    fn get(url: String) -> Result<Page, String> {
        let response = http_client::get(&url, &[])?;
        let content_type = response
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, value)| value.clone());
        Ok(Page {
            status: response.status,
            content_type,
            body: String::from_utf8_lossy(&response.body).into_owned(),
        })
    }
}

export!(Fetch);
