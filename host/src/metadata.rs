//! Tool metadata embedded in a component's bytes (the `moat-metadata` custom section).
//!
//! The standard toolchain drops WIT doc comments from compiled components, so the
//! descriptions a model reads would otherwise live outside what is digested and
//! signed. `moat pack` writes them into this section; the host reads them only
//! from here. This module owns the section's format (versioned JSON, sorted
//! maps: the same input always gives the same bytes), reading and replacing it,
//! and the doc-comment conventions of `wit/README.md` (`@param`, `@title`,
//! annotation tags). It never decides whether a description is trustworthy.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};

use crate::bounds::{MAX_FUNCTIONS, MAX_METADATA_BYTES, MAX_TEXT_BYTES, size};

/// Name of the custom section holding [`ToolMetadata`].
pub const SECTION_NAME: &str = "moat-metadata";

/// The only format version this host reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Everything a model is told about a component's tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ToolMetadata {
    pub version: u32,
    /// The WIT world the metadata was written from, e.g. `moat:text/text`.
    pub world: String,
    /// Per exported function, keyed by export path: `func` for a world-level
    /// export, `iface-export-name#func` for a function of an exported interface.
    pub functions: BTreeMap<String, FunctionDocs>,
    /// The world's `@json STYLE` tag: how its tools' parameters and record
    /// fields are spelled in JSON. Absent: as WIT spells them, every
    /// parameter and field required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<NameStyle>,
    /// The world's `@tool-names STYLE` tag: how the function's part of its
    /// tools' names is spelled. Absent: as WIT spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_names: Option<NameStyle>,
}

/// How WIT names are spelled in JSON, under a world's `@json STYLE` (its
/// tools' parameters and record fields) and `@tool-names STYLE` (its tools'
/// names). `@json`, whatever its style, also makes an `option` parameter or
/// record field omissible, as hand-written JSON APIs are: absent means
/// `none`, and `none` is written by leaving the field out. A WIT name is
/// lowercase words joined by `-` (`max-length`), which each style spells its
/// own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NameStyle {
    /// `max-length`, as WIT writes it.
    #[serde(rename = "kebab-case")]
    Kebab,
    /// `max_length`.
    #[serde(rename = "snake_case")]
    Snake,
    /// `maxLength`.
    #[serde(rename = "camelCase")]
    Camel,
}

impl NameStyle {
    /// The style a `@json` or `@tool-names` tag names.
    pub fn parse(tag: &str, text: &str) -> Result<NameStyle> {
        match text {
            "kebab-case" => Ok(NameStyle::Kebab),
            "snake_case" => Ok(NameStyle::Snake),
            "camelCase" => Ok(NameStyle::Camel),
            other => bail!("`@{tag}` takes kebab-case, snake_case or camelCase, found `{other}`"),
        }
    }

    /// `wit` spelled in this style. camelCase cannot spell a word WIT writes
    /// in capitals (`get-URL` would read back as `get-u-r-l`): refused.
    pub fn spell(self, wit: &str) -> Result<String, String> {
        match self {
            NameStyle::Kebab => Ok(wit.to_string()),
            NameStyle::Snake => Ok(wit.replace('-', "_")),
            NameStyle::Camel => {
                let mut out = String::with_capacity(wit.len());
                for (index, word) in wit.split('-').enumerate() {
                    if word.chars().any(|c| c.is_ascii_uppercase()) {
                        return Err(format!(
                            "`{wit}` has a word in capitals, which camelCase cannot spell so that it reads back"
                        ));
                    }
                    let mut chars = word.chars();
                    match (index, chars.next()) {
                        (0, Some(first)) => out.push(first),
                        (_, Some(first)) => out.push(first.to_ascii_uppercase()),
                        (_, None) => {}
                    }
                    out.extend(chars);
                }
                Ok(out)
            }
        }
    }
}

/// The documentation of one exported function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FunctionDocs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub description: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Hints::is_empty")]
    pub hints: Hints,
    /// What the function is served as: a tool unless tagged otherwise.
    #[serde(default, skip_serializing_if = "Serves::is_tool")]
    pub serves: Serves,
    /// `@text FIELD`: the result's text block is this field of the returned
    /// record (its WIT name), rather than the whole record as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// What MCP primitive an exported function is served as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub enum Serves {
    #[default]
    Tool,
    /// `@resource URI`: the resource at `uri`, read by calling the function.
    Resource {
        uri: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
    },
    /// `@resource-template TEMPLATE`: the resources whose URIs match
    /// `template`; its variables are the function's parameters.
    ResourceTemplate {
        template: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mime_type: Option<String>,
    },
    /// `@prompt`: a prompt whose arguments are the function's parameters.
    Prompt,
    /// `@completes FUNCTION`: completes the arguments of the prompt or the
    /// variables of the resource template that `FUNCTION` (an export path
    /// of the same component) serves.
    Completion { of: String },
}

impl Serves {
    pub fn is_tool(&self) -> bool {
        *self == Serves::Tool
    }
}

/// MCP tool annotations, as declared by the tool's author. Absent means the MCP
/// default (not read-only, destructive, not idempotent, open world).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Hints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world: Option<bool>,
}

impl Hints {
    pub fn is_empty(&self) -> bool {
        *self == Hints::default()
    }
}

impl ToolMetadata {
    /// Serialises to the canonical section payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("metadata serialises")
    }

    /// Parses a section payload, refusing unknown versions and fields, and
    /// anything past moat's bounds.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        ensure!(
            bytes.len() <= MAX_METADATA_BYTES,
            "the `{SECTION_NAME}` section is {}, past moat's bound of {} (MAX_METADATA_BYTES)",
            size(bytes.len() as u64),
            size(MAX_METADATA_BYTES as u64)
        );
        let metadata: ToolMetadata = serde_json::from_slice(bytes)
            .with_context(|| format!("the `{SECTION_NAME}` section is not valid metadata"))?;
        ensure!(
            metadata.version == FORMAT_VERSION,
            "the `{SECTION_NAME}` section has format version {}, this host reads version {FORMAT_VERSION}",
            metadata.version
        );
        metadata.check_bounds()?;
        Ok(metadata)
    }

    /// Refuses metadata with more functions than [`MAX_FUNCTIONS`] or a text
    /// longer than [`MAX_TEXT_BYTES`], naming the bound.
    pub fn check_bounds(&self) -> Result<()> {
        ensure!(
            self.functions.len() <= MAX_FUNCTIONS,
            "the metadata documents {} functions, past moat's bound of {MAX_FUNCTIONS} (MAX_FUNCTIONS)",
            self.functions.len()
        );
        let long = |what: String, text: &str| -> Result<()> {
            ensure!(
                text.len() <= MAX_TEXT_BYTES,
                "{what} is {}, past moat's bound of {} for one text (MAX_TEXT_BYTES)",
                size(text.len() as u64),
                size(MAX_TEXT_BYTES as u64)
            );
            Ok(())
        };
        long("the world's name".into(), &self.world)?;
        for (path, docs) in &self.functions {
            long(format!("the name of function `{}`", path.chars().take(64).collect::<String>()), path)?;
            long(format!("the description of `{path}`"), &docs.description)?;
            if let Some(title) = &docs.title {
                long(format!("the title of `{path}`"), title)?;
            }
            for (param, doc) in &docs.params {
                long(format!("a parameter name of `{path}`"), param)?;
                long(format!("the doc of parameter `{param}` of `{path}`"), doc)?;
            }
            let served = match &docs.serves {
                Serves::Tool | Serves::Prompt => None,
                Serves::Resource { uri: text, mime_type }
                | Serves::ResourceTemplate { template: text, mime_type } => {
                    if let Some(mime_type) = mime_type {
                        long(format!("the MIME type of `{path}`"), mime_type)?;
                    }
                    Some(text)
                }
                Serves::Completion { of } => Some(of),
            };
            if let Some(text) = served {
                long(format!("what `{path}` serves"), text)?;
            }
        }
        Ok(())
    }
}

/// One top-level section of a component or module binary.
struct Section<'a> {
    /// The whole section, id and size included.
    raw: &'a [u8],
    /// The name, for custom sections.
    custom_name: Option<&'a str>,
    /// The payload after the name, for custom sections.
    custom_data: &'a [u8],
}

/// Splits a binary into its top-level sections (nested modules stay opaque).
fn sections(bytes: &[u8]) -> Result<(&[u8], Vec<Section<'_>>)> {
    ensure!(bytes.len() >= 8 && &bytes[..4] == b"\0asm", "not a WebAssembly binary (bad magic number)");
    let header = &bytes[..8];
    let mut reader = wasmparser::BinaryReader::new(&bytes[8..], 8);
    let mut out = Vec::new();
    while !reader.eof() {
        let start = reader.original_position();
        let id = reader.read_u8().context("truncated section header")?;
        let size = reader.read_var_u32().context("truncated section size")? as usize;
        let body_start = reader.original_position();
        ensure!(
            body_start + size <= bytes.len(),
            "section at offset {start} runs past the end of the binary"
        );
        let body = &bytes[body_start..body_start + size];
        reader.read_bytes(size).context("truncated section")?;
        let (custom_name, custom_data) = if id == 0 {
            let mut body_reader = wasmparser::BinaryReader::new(body, body_start);
            let name = body_reader.read_string().context("custom section without a valid name")?;
            let data_start = body_reader.original_position() - body_start;
            (Some(name), &body[data_start..])
        } else {
            (None, &body[..0])
        };
        out.push(Section { raw: &bytes[start..body_start + size], custom_name, custom_data });
    }
    Ok((header, out))
}

/// Reads the embedded metadata, if the binary has a `moat-metadata` section.
/// More than one such section is an error: which one would the model see?
pub fn read(bytes: &[u8]) -> Result<Option<ToolMetadata>> {
    let (_, sections) = sections(bytes)?;
    let mut found = sections.iter().filter(|s| s.custom_name == Some(SECTION_NAME));
    let Some(first) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        bail!("the component has more than one `{SECTION_NAME}` section");
    }
    ToolMetadata::from_bytes(first.custom_data).map(Some)
}

/// Returns `bytes` with any existing `moat-metadata` section replaced by
/// `metadata`, which must be within moat's bounds (a host would refuse it).
pub fn embed(bytes: &[u8], metadata: &ToolMetadata) -> Result<Vec<u8>> {
    metadata.check_bounds()?;
    let (header, sections) = sections(bytes)?;
    let mut out = header.to_vec();
    for section in sections.iter().filter(|s| s.custom_name != Some(SECTION_NAME)) {
        out.extend_from_slice(section.raw);
    }
    let payload = metadata.to_bytes();
    let custom = wasm_encoder::CustomSection { name: SECTION_NAME.into(), data: payload.as_slice().into() };
    wasm_encoder::ComponentSection::append_to_component(&custom, &mut out);
    Ok(out)
}

/// A world's tags: `@json STYLE` and `@tool-names STYLE` ([`NameStyle`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorldDocs {
    pub json: Option<NameStyle>,
    pub tool_names: Option<NameStyle>,
}

/// Reads a world's doc comment's tags. Text that is not a tag is the world's
/// own documentation, not read here.
pub fn parse_world_doc_comment(docs: &str) -> Result<WorldDocs> {
    let mut out = WorldDocs::default();
    for line in docs.lines() {
        let Some(tag_line) = line.trim().strip_prefix('@') else { continue };
        let (tag, rest) = tag_line.split_once(char::is_whitespace).unwrap_or((tag_line, ""));
        let slot = match tag {
            "json" => &mut out.json,
            "tool-names" => &mut out.tool_names,
            other => bail!("unknown world doc tag `@{other}` (known: @json, @tool-names)"),
        };
        ensure!(slot.is_none(), "`@{tag}` is given twice");
        *slot = Some(NameStyle::parse(tag, rest.trim())?);
    }
    Ok(out)
}

/// Splits a WIT doc comment into description, title, parameter docs and hints,
/// following the conventions in `wit/README.md`. Unknown `@tags` are errors:
/// a typo must not silently drop an annotation.
pub fn parse_doc_comment(docs: &str) -> Result<FunctionDocs> {
    let mut out = FunctionDocs::default();
    let mut description: Vec<&str> = Vec::new();
    let mut current_param: Option<String> = None;
    // A `@mime-type` written before its `@resource`.
    let mut mime_type: Option<String> = None;
    let set = |slot: &mut Option<bool>, value: bool, tag: &str| -> Result<()> {
        if slot.is_some_and(|existing| existing != value) {
            bail!("`@{tag}` contradicts an earlier annotation");
        }
        *slot = Some(value);
        Ok(())
    };
    for line in docs.lines() {
        let trimmed = line.trim();
        let Some(tag_line) = trimmed.strip_prefix('@') else {
            match &current_param {
                // An indented line continues the previous `@param`.
                Some(name) if !trimmed.is_empty() && line.starts_with(char::is_whitespace) => {
                    let text = out.params.get_mut(name).expect("param was inserted");
                    text.push(' ');
                    text.push_str(trimmed);
                }
                _ => {
                    current_param = None;
                    description.push(line.trim_end());
                }
            }
            continue;
        };
        current_param = None;
        let (tag, rest) = tag_line.split_once(char::is_whitespace).unwrap_or((tag_line, ""));
        let rest = rest.trim();
        let hints = &mut out.hints;
        let serves = |out: &mut FunctionDocs, serves: Serves| -> Result<()> {
            ensure!(
                out.serves.is_tool(),
                "`@{tag}` follows another of @resource, @resource-template, @prompt"
            );
            out.serves = serves;
            Ok(())
        };
        match tag {
            "resource" | "resource-template" => {
                ensure!(!rest.is_empty() && !rest.contains(char::is_whitespace), "`@{tag}` needs one URI");
                let uri = rest.to_string();
                serves(
                    &mut out,
                    match tag {
                        "resource" => Serves::Resource { uri, mime_type: mime_type.take() },
                        _ => Serves::ResourceTemplate { template: uri, mime_type: mime_type.take() },
                    },
                )?;
            }
            "prompt" => serves(&mut out, Serves::Prompt)?,
            "completes" => {
                ensure!(
                    !rest.is_empty() && !rest.contains(char::is_whitespace),
                    "`@completes` needs one function"
                );
                serves(&mut out, Serves::Completion { of: rest.to_string() })?;
            }
            "mime-type" => {
                ensure!(
                    !rest.is_empty() && !rest.contains(char::is_whitespace),
                    "`@mime-type` needs one type"
                );
                ensure!(mime_type.is_none() && !has_mime_type(&out.serves), "`@mime-type` is given twice");
                match &mut out.serves {
                    Serves::Resource { mime_type, .. } | Serves::ResourceTemplate { mime_type, .. } => {
                        *mime_type = Some(rest.to_string())
                    }
                    _ => mime_type = Some(rest.to_string()),
                }
            }
            "param" => {
                let (name, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                let name = name.trim_end_matches(':');
                ensure!(!name.is_empty(), "`@param` needs a parameter name");
                ensure!(!out.params.contains_key(name), "parameter `{name}` is documented twice");
                out.params.insert(name.to_string(), text.trim().to_string());
                current_param = Some(name.to_string());
            }
            "text" => {
                ensure!(
                    !rest.is_empty() && !rest.contains(char::is_whitespace),
                    "`@text` needs one field of the returned record"
                );
                ensure!(out.text.is_none(), "`@text` is given twice");
                out.text = Some(rest.to_string());
            }
            "title" => {
                ensure!(!rest.is_empty(), "`@title` needs a title");
                ensure!(out.title.is_none(), "`@title` is given twice");
                out.title = Some(rest.to_string());
            }
            "read-only" => set(&mut hints.read_only, true, tag)?,
            "destructive" => set(&mut hints.destructive, true, tag)?,
            "non-destructive" => set(&mut hints.destructive, false, tag)?,
            "idempotent" => set(&mut hints.idempotent, true, tag)?,
            "open-world" => set(&mut hints.open_world, true, tag)?,
            "closed-world" => set(&mut hints.open_world, false, tag)?,
            other => bail!(
                "unknown doc tag `@{other}` (known: @param, @title, @text, @read-only, @destructive, @non-destructive, @idempotent, @open-world, @closed-world, @resource, @resource-template, @mime-type, @prompt, @completes)"
            ),
        }
        if !matches!(
            tag,
            "param" | "title" | "text" | "resource" | "resource-template" | "mime-type" | "completes"
        ) {
            ensure!(rest.is_empty(), "`@{tag}` takes no text, found `{rest}`");
        }
    }
    ensure!(mime_type.is_none(), "`@mime-type` belongs to a `@resource` or `@resource-template`");
    ensure!(
        out.serves.is_tool() || out.text.is_none(),
        "`@text` belongs to a tool, not to a resource or prompt"
    );
    ensure!(
        out.serves.is_tool() || out.hints.is_empty(),
        "tool annotations (@read-only, @destructive, ...) belong to tools, not to a resource or prompt"
    );
    ensure!(
        !(hints_read_only_and_destructive(&out.hints)),
        "`@read-only` and `@destructive` contradict each other"
    );
    out.description = description.join("\n").trim().to_string();
    Ok(out)
}

fn has_mime_type(serves: &Serves) -> bool {
    matches!(
        serves,
        Serves::Resource { mime_type: Some(_), .. } | Serves::ResourceTemplate { mime_type: Some(_), .. }
    )
}

fn hints_read_only_and_destructive(hints: &Hints) -> bool {
    hints.read_only == Some(true) && hints.destructive == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_comment_conventions() {
        let docs = parse_doc_comment(
            "Counts words.\n\nSplits on whitespace.\n@title Word count\n@param text the text to count\n  across two lines\n@read-only\n@idempotent\n@closed-world",
        )
        .unwrap();
        assert_eq!(docs.description, "Counts words.\n\nSplits on whitespace.");
        assert_eq!(docs.title.as_deref(), Some("Word count"));
        assert_eq!(docs.params["text"], "the text to count across two lines");
        assert_eq!(
            docs.hints,
            Hints {
                read_only: Some(true),
                destructive: None,
                idempotent: Some(true),
                open_world: Some(false)
            }
        );
    }

    #[test]
    fn world_tags_and_the_text_tag() {
        let world = parse_world_doc_comment("A server.\n@json camelCase\n@tool-names snake_case").unwrap();
        assert_eq!(world, WorldDocs { json: Some(NameStyle::Camel), tool_names: Some(NameStyle::Snake) });
        assert!(parse_world_doc_comment("@json camel").is_err());
        assert!(parse_world_doc_comment("@json snake_case\n@json camelCase").is_err());
        assert!(parse_world_doc_comment("@jsn snake_case").is_err());
        assert_eq!(NameStyle::Camel.spell("added-observations").unwrap(), "addedObservations");
        assert_eq!(NameStyle::Snake.spell("get-URL").unwrap(), "get_URL");
        assert!(NameStyle::Camel.spell("get-URL").is_err());
        assert_eq!(parse_doc_comment("Deletes.\n@text message").unwrap().text.as_deref(), Some("message"));
        assert!(parse_doc_comment("Deletes.\n@text").is_err());
        assert!(parse_doc_comment("@resource a://b\n@text message").is_err());
    }

    #[test]
    fn typos_and_contradictions_are_errors() {
        let typo = parse_doc_comment("x\n@readonly").unwrap_err().to_string();
        assert!(typo.contains("unknown doc tag `@readonly`"), "{typo}");
        assert!(parse_doc_comment("@read-only\n@destructive").is_err());
        assert!(parse_doc_comment("@destructive\n@non-destructive").is_err());
        assert!(parse_doc_comment("@param a x\n@param a y").is_err());
        assert!(parse_doc_comment("@idempotent yes").is_err());
    }

    #[test]
    fn resources_and_prompts_are_tagged() {
        let docs =
            parse_doc_comment("The readme.\n@resource file:///README.md\n@mime-type text/markdown").unwrap();
        let uri = "file:///README.md".to_string();
        assert_eq!(docs.serves, Serves::Resource { uri, mime_type: Some("text/markdown".into()) });
        let docs =
            parse_doc_comment("@mime-type application/json\n@resource-template test://t/{id}").unwrap();
        assert!(matches!(docs.serves, Serves::ResourceTemplate { mime_type: Some(_), .. }));
        assert_eq!(
            parse_doc_comment("Review.\n@prompt\n@param code the code").unwrap().serves,
            Serves::Prompt
        );
        assert_eq!(parse_doc_comment("Plain.").unwrap().serves, Serves::Tool);
        assert_eq!(
            parse_doc_comment("@completes review").unwrap().serves,
            Serves::Completion { of: "review".into() }
        );
        for bad in [
            "@resource",
            "@resource a b",
            "@prompt\n@resource x:y",
            "@mime-type text/plain",
            "@prompt\n@read-only",
            "@resource x:y\n@mime-type a/b\n@mime-type c/d",
        ] {
            assert!(parse_doc_comment(bad).is_err(), "{bad:?} must be refused");
        }
        // A tool's metadata is written as before the tags existed.
        let tool = FunctionDocs { description: "d".into(), ..Default::default() };
        assert_eq!(serde_json::to_string(&tool).unwrap(), r#"{"description":"d"}"#);
    }

    #[test]
    fn embed_replaces_and_read_finds_the_section() {
        // The smallest component: header only.
        let empty_component = wat::parse_str("(component)").unwrap();
        assert_eq!(read(&empty_component).unwrap(), None);
        let mut metadata =
            ToolMetadata { version: FORMAT_VERSION, world: "a:b/c".into(), ..Default::default() };
        metadata
            .functions
            .insert("f".into(), FunctionDocs { description: "first".into(), ..Default::default() });
        let once = embed(&empty_component, &metadata).unwrap();
        assert_eq!(read(&once).unwrap().as_ref(), Some(&metadata));
        metadata.functions.get_mut("f").unwrap().description = "second".into();
        let twice = embed(&once, &metadata).unwrap();
        assert_eq!(read(&twice).unwrap().unwrap().functions["f"].description, "second");
        assert_eq!(embed(&twice, &metadata).unwrap(), twice, "embedding is deterministic");
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&twice)
            .unwrap();
    }

    #[test]
    fn metadata_past_the_bounds_is_refused_naming_the_bound() {
        let docs = |description: String| FunctionDocs { description, ..Default::default() };
        let mut metadata =
            ToolMetadata { version: FORMAT_VERSION, world: "a:b/c".into(), ..Default::default() };
        metadata.functions.insert("f".into(), docs("x".repeat(MAX_TEXT_BYTES)));
        let read = ToolMetadata::from_bytes(&metadata.to_bytes()).unwrap();
        assert_eq!(read, metadata, "a text of exactly the bound is read");

        metadata.functions.insert("f".into(), docs("x".repeat(MAX_TEXT_BYTES + 1)));
        let error = format!("{:#}", ToolMetadata::from_bytes(&metadata.to_bytes()).unwrap_err());
        assert!(
            error.contains("the description of `f` is 16385 bytes, past moat's bound of 16 KiB")
                && error.contains("MAX_TEXT_BYTES"),
            "{error}"
        );
        assert!(embed(b"\0asm\x0d\0\x01\0", &metadata).is_err(), "pack refuses to write it");

        metadata.functions = (0..=MAX_FUNCTIONS).map(|i| (format!("f{i}"), docs("d".into()))).collect();
        let error = format!("{:#}", ToolMetadata::from_bytes(&metadata.to_bytes()).unwrap_err());
        assert!(error.contains("1025 functions") && error.contains("MAX_FUNCTIONS"), "{error}");

        let huge = vec![b' '; MAX_METADATA_BYTES + 1];
        let error = format!("{:#}", ToolMetadata::from_bytes(&huge).unwrap_err());
        assert!(error.contains("MAX_METADATA_BYTES"), "{error}");
    }

    #[test]
    fn foreign_versions_and_fields_are_refused() {
        assert!(ToolMetadata::from_bytes(br#"{"version":2,"world":"x","functions":{}}"#).is_err());
        assert!(ToolMetadata::from_bytes(br#"{"version":1,"world":"x","functions":{},"extra":1}"#).is_err());
    }
}
