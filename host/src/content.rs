//! MCP content returned by a component: content blocks (text, images,
//! audio, resource links, embedded resources), resource contents and prompt
//! messages (`moat:host/content` in `wit/host/host.wit`).
//!
//! Owns: the WIT shapes as [`ValType`]s, by which a function returning
//! `list<block>`, `resource-contents` or `list<message>` is recognised
//! (component types are structural, so the shape is the type); decoding a
//! returned value, with every check content must pass before it leaves the
//! host (image and audio bytes sniffed against their declared MIME type,
//! absolute URIs, priorities in 0..=1, RFC 3339 times); and, for what a call
//! produced ([`Output`]), which of it is text (for redaction and scanning)
//! and how many bytes it holds (for the output limit).

use wasmtime::component::Val;

use crate::types::ValType;

/// Who a block is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

/// MCP annotations of a block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Annotations {
    pub audience: Vec<Role>,
    pub priority: Option<f64>,
    pub last_modified: Option<String>,
}

/// Image or audio bytes with their (checked) MIME type.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub data: Vec<u8>,
    pub mime_type: String,
}

/// What a resource holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Text(String),
    Blob(Vec<u8>),
}

/// A resource's contents.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceContents {
    pub uri: String,
    pub mime_type: Option<String>,
    pub body: Body,
}

/// A pointer to a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceLink {
    pub uri: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
}

/// One block's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Text(String),
    Image(Media),
    Audio(Media),
    ResourceLink(ResourceLink),
    Resource(ResourceContents),
}

/// One content block, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub kind: Kind,
    pub annotations: Option<Annotations>,
}

/// Why a returned block cannot be sent, with where it is (`content[2]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {reason}")]
pub struct ContentError {
    pub at: String,
    pub reason: String,
}

impl Block {
    pub fn text(text: impl Into<String>) -> Block {
        Block { kind: Kind::Text(text.into()), annotations: None }
    }

    /// Bytes the block carries (text and binary alike), for the output limit.
    pub fn size(&self) -> u64 {
        let optional = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let bytes = match &self.kind {
            Kind::Text(text) => text.len(),
            Kind::Image(media) | Kind::Audio(media) => media.data.len() + media.mime_type.len(),
            Kind::ResourceLink(link) => {
                link.uri.len()
                    + link.name.len()
                    + optional(&link.title)
                    + optional(&link.description)
                    + optional(&link.mime_type)
            }
            Kind::Resource(contents) => contents.size(),
        };
        bytes as u64
    }

    /// The block's texts a model reads, each with its field's name within
    /// the block (`text`, `resource.text`): what is redacted and scanned.
    pub fn texts_mut(&mut self) -> Vec<(&'static str, &mut String)> {
        match &mut self.kind {
            Kind::Text(text) => vec![("text", text)],
            Kind::Image(_) | Kind::Audio(_) => Vec::new(),
            Kind::ResourceLink(link) => {
                let mut texts = vec![("uri", &mut link.uri), ("name", &mut link.name)];
                if let Some(title) = &mut link.title {
                    texts.push(("title", title));
                }
                if let Some(description) = &mut link.description {
                    texts.push(("description", description));
                }
                texts
            }
            Kind::Resource(contents) => contents.texts_mut(),
        }
    }

    /// The binary data the block carries, if any.
    pub fn binary(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Image(media) | Kind::Audio(media) => Some(&media.data),
            Kind::Resource(ResourceContents { body: Body::Blob(blob), .. }) => Some(blob),
            _ => None,
        }
    }
}

impl ResourceContents {
    pub fn size(&self) -> usize {
        let body = match &self.body {
            Body::Text(text) => text.len(),
            Body::Blob(blob) => blob.len(),
        };
        self.uri.len() + self.mime_type.as_ref().map_or(0, String::len) + body
    }

    /// The texts of the contents (its URI, and its body when it is text).
    pub fn texts_mut(&mut self) -> Vec<(&'static str, &mut String)> {
        let mut texts = vec![("resource.uri", &mut self.uri)];
        if let Body::Text(text) = &mut self.body {
            texts.push(("resource.text", text));
        }
        texts
    }
}

/// What a function's returned value is to the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    Success(Output),
    /// A returned `err`, as text: a tool error (`isError: true`), or the
    /// error of a resource read or prompt.
    Error(String),
}

/// What a call produced, checked, on its way to the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A tool's result: its content and, for a typed result, its value.
    Tool { content: Vec<Block>, structured: Option<serde_json::Value> },
    /// A resource read.
    Resource(Vec<ResourceContents>),
    /// A prompt.
    Prompt(Vec<Message>),
    /// Completion values for an argument (`total`: how many the component
    /// returned, of which `values` are the first).
    Completion { values: Vec<String>, total: usize },
}

impl Output {
    /// Every text a model reads, named by where it is
    /// (`content[0].text`, `contents[1].text`, `messages[0].content.text`).
    /// A tool's structured value is not among them (it is scanned as JSON).
    pub fn texts_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut texts = Vec::new();
        match self {
            Output::Tool { content, .. } => {
                for (index, block) in content.iter_mut().enumerate() {
                    for (field, text) in block.texts_mut() {
                        texts.push((format!("content[{index}].{field}"), text));
                    }
                }
            }
            Output::Resource(contents) => {
                for (index, contents) in contents.iter_mut().enumerate() {
                    for (field, text) in contents.texts_mut() {
                        let field = field.trim_start_matches("resource.");
                        texts.push((format!("contents[{index}].{field}"), text));
                    }
                }
            }
            Output::Prompt(messages) => {
                for (index, message) in messages.iter_mut().enumerate() {
                    for (field, text) in message.content.texts_mut() {
                        texts.push((format!("messages[{index}].content.{field}"), text));
                    }
                }
            }
            Output::Completion { values, .. } => {
                for (index, value) in values.iter_mut().enumerate() {
                    texts.push((format!("completion.values[{index}]"), value));
                }
            }
        }
        texts
    }

    /// Every binary payload, with where it is.
    pub fn binaries(&self) -> Vec<(String, &[u8])> {
        match self {
            Output::Tool { content, .. } => content
                .iter()
                .enumerate()
                .filter_map(|(index, block)| block.binary().map(|b| (format!("content[{index}]"), b)))
                .collect(),
            Output::Resource(contents) => contents
                .iter()
                .enumerate()
                .filter_map(|(index, contents)| match &contents.body {
                    Body::Blob(blob) => Some((format!("contents[{index}]"), blob.as_slice())),
                    Body::Text(_) => None,
                })
                .collect(),
            Output::Prompt(messages) => messages
                .iter()
                .enumerate()
                .filter_map(|(index, m)| m.content.binary().map(|b| (format!("messages[{index}]"), b)))
                .collect(),
            Output::Completion { .. } => Vec::new(),
        }
    }

    /// Bytes it carries: every block's text and binary (before base64), and
    /// a tool's structured value when it has no content of its own.
    pub fn size(&self) -> u64 {
        match self {
            Output::Tool { content, structured } => {
                let structured =
                    structured.as_ref().filter(|_| content.is_empty()).map_or(0, |v| v.to_string().len());
                content.iter().map(Block::size).sum::<u64>() + structured as u64
            }
            Output::Resource(contents) => contents.iter().map(|c| c.size() as u64).sum(),
            Output::Prompt(messages) => messages.iter().map(|m| m.content.size()).sum(),
            Output::Completion { values, .. } => values.iter().map(|v| v.len() as u64).sum(),
        }
    }
}

fn string() -> ValType {
    ValType::String
}

fn optional(ty: ValType) -> ValType {
    ValType::Option(Box::new(ty))
}

fn record(fields: &[(&str, ValType)]) -> ValType {
    ValType::Record(fields.iter().map(|(name, ty)| (name.to_string(), ty.clone())).collect())
}

/// `resource-contents` of `moat:host/content`, as the component model sees it.
pub fn resource_contents_type() -> ValType {
    let body = ValType::Variant(vec![
        ("text".into(), Some(string())),
        ("blob".into(), Some(ValType::List(Box::new(ValType::U8)))),
    ]);
    record(&[("uri", string()), ("mime-type", optional(string())), ("body", body)])
}

/// `block` of `moat:host/content`, as the component model sees it: the
/// fields and cases in their WIT order.
pub fn block_type() -> ValType {
    let role = ValType::Enum(vec!["user".into(), "assistant".into()]);
    let annotations = record(&[
        ("audience", ValType::List(Box::new(role))),
        ("priority", optional(ValType::F64)),
        ("last-modified", optional(string())),
    ]);
    let media = record(&[("data", ValType::List(Box::new(ValType::U8))), ("mime-type", string())]);
    let link = record(&[
        ("uri", string()),
        ("name", string()),
        ("title", optional(string())),
        ("description", optional(string())),
        ("mime-type", optional(string())),
        ("size", optional(ValType::U64)),
    ]);
    let kind = ValType::Variant(vec![
        ("text".into(), Some(string())),
        ("image".into(), Some(media.clone())),
        ("audio".into(), Some(media)),
        ("resource-link".into(), Some(link)),
        ("resource".into(), Some(resource_contents_type())),
    ]);
    record(&[("kind", kind), ("annotations", optional(annotations))])
}

/// `message` of `moat:host/content`: one message of a prompt.
pub fn message_type() -> ValType {
    let role = ValType::Enum(vec!["user".into(), "assistant".into()]);
    record(&[("role", role), ("content", block_type())])
}

/// Whether `ty` is `list<block>`: the function returns content blocks.
pub fn is_block_list(ty: &ValType) -> bool {
    matches!(ty, ValType::List(item) if **item == block_type())
}

/// Whether `ty` is `list<message>`: what a prompt returns.
pub fn is_message_list(ty: &ValType) -> bool {
    matches!(ty, ValType::List(item) if **item == message_type())
}

/// Whether `ty` is what a resource read returns: `resource-contents`, or
/// a list of them.
pub fn is_resource_result(ty: &ValType) -> bool {
    let contents = resource_contents_type();
    *ty == contents || matches!(ty, ValType::List(item) if **item == contents)
}

/// One message of a prompt, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Block,
}

/// The messages of a returned `list<message>`, each checked.
pub fn messages(val: &Val) -> Result<Vec<Message>, ContentError> {
    let Val::List(items) = val else {
        return Err(ContentError { at: "messages".into(), reason: "not a list of messages".into() });
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let at = format!("messages[{index}]");
            let reader = Reader { at: &at };
            let role = match reader.field(item, "role")? {
                Val::Enum(case) if case == "user" => Role::User,
                Val::Enum(case) if case == "assistant" => Role::Assistant,
                _ => return reader.fail("role is not user or assistant"),
            };
            let content = block(&format!("{at}.content"), reader.field(item, "content")?)?;
            Ok(Message { role, content })
        })
        .collect()
}

/// The contents of a returned `resource-contents` or list of them, checked.
pub fn resource_read(val: &Val) -> Result<Vec<ResourceContents>, ContentError> {
    match val {
        Val::List(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| resource_contents(&format!("contents[{index}]"), item))
            .collect(),
        one => Ok(vec![resource_contents("contents[0]", one)?]),
    }
}

/// The blocks of a returned `list<block>`, each checked.
pub fn blocks(val: &Val) -> Result<Vec<Block>, ContentError> {
    let Val::List(items) = val else {
        return Err(ContentError { at: "content".into(), reason: "not a list of blocks".into() });
    };
    items.iter().enumerate().map(|(index, item)| block(&format!("content[{index}]"), item)).collect()
}

/// Reading a value of a known shape; a mismatch means the value does not
/// have the type the function was recognised by.
struct Reader<'a> {
    at: &'a str,
}

impl<'a> Reader<'a> {
    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, ContentError> {
        Err(ContentError { at: self.at.to_string(), reason: reason.into() })
    }

    fn field<'v>(&self, val: &'v Val, name: &str) -> Result<&'v Val, ContentError> {
        match val {
            Val::Record(fields) => match fields.iter().find(|(field, _)| field == name) {
                Some((_, value)) => Ok(value),
                None => self.fail(format!("no field `{name}`")),
            },
            _ => self.fail("not a record"),
        }
    }

    fn string(&self, val: &Val) -> Result<String, ContentError> {
        match val {
            Val::String(s) => Ok(s.clone()),
            _ => self.fail("not a string"),
        }
    }

    fn optional<T>(
        &self,
        val: &Val,
        read: impl FnOnce(&Val) -> Result<T, ContentError>,
    ) -> Result<Option<T>, ContentError> {
        match val {
            Val::Option(None) => Ok(None),
            Val::Option(Some(inner)) => read(inner).map(Some),
            _ => self.fail("not an option"),
        }
    }

    fn bytes(&self, val: &Val) -> Result<Vec<u8>, ContentError> {
        match val {
            Val::List(items) => items
                .iter()
                .map(|item| match item {
                    Val::U8(byte) => Ok(*byte),
                    _ => self.fail("not a list of bytes"),
                })
                .collect(),
            _ => self.fail("not a list of bytes"),
        }
    }

    fn case<'v>(&self, val: &'v Val) -> Result<(&'v str, Option<&'v Val>), ContentError> {
        match val {
            Val::Variant(case, payload) => Ok((case.as_str(), payload.as_deref())),
            _ => self.fail("not a variant"),
        }
    }
}

fn block(at: &str, val: &Val) -> Result<Block, ContentError> {
    let reader = Reader { at };
    let (case, payload) = reader.case(reader.field(val, "kind")?)?;
    let Some(payload) = payload else { return reader.fail(format!("`{case}` without its payload")) };
    let kind = match case {
        "text" => Kind::Text(reader.string(payload)?),
        "image" => Kind::Image(media(&reader, payload, "image")?),
        "audio" => Kind::Audio(media(&reader, payload, "audio")?),
        "resource-link" => Kind::ResourceLink(resource_link(&reader, payload)?),
        "resource" => Kind::Resource(resource_contents(at, payload)?),
        other => return reader.fail(format!("unknown kind `{other}`")),
    };
    let annotations = reader.optional(reader.field(val, "annotations")?, |a| annotations(&reader, a))?;
    Ok(Block { kind, annotations })
}

fn media(reader: &Reader<'_>, val: &Val, family: &str) -> Result<Media, ContentError> {
    let data = reader.bytes(reader.field(val, "data")?)?;
    let mime_type = reader.string(reader.field(val, "mime-type")?)?;
    check_mime_syntax(reader, &mime_type)?;
    let declared = essence(&mime_type);
    if !declared.starts_with(&format!("{family}/")) {
        return reader
            .fail(format!("{family} content declared as `{mime_type}`, which is not an {family} type"));
    }
    match infer::get(&data) {
        Some(found) if same_type(&declared, found.mime_type()) => Ok(Media { data, mime_type }),
        Some(found) => reader.fail(format!(
            "declared `{mime_type}`, but the {} bytes are `{}`",
            data.len(),
            found.mime_type()
        )),
        None => reader.fail(format!(
            "declared `{mime_type}`, but the {} bytes are not an {family} format moat recognises \
             (SVG and other text formats belong in an embedded text resource)",
            data.len()
        )),
    }
}

fn resource_link(reader: &Reader<'_>, val: &Val) -> Result<ResourceLink, ContentError> {
    let uri = reader.string(reader.field(val, "uri")?)?;
    check_uri(reader, &uri)?;
    let name = reader.string(reader.field(val, "name")?)?;
    if name.is_empty() {
        return reader.fail("a resource link needs a name");
    }
    let text = |field: &str| reader.optional(reader.field(val, field)?, |v| reader.string(v));
    let mime_type = text("mime-type")?;
    if let Some(mime) = &mime_type {
        check_mime_syntax(reader, mime)?;
    }
    let size = reader.optional(reader.field(val, "size")?, |v| match v {
        Val::U64(size) => Ok(*size),
        _ => reader.fail("size is not a u64"),
    })?;
    Ok(ResourceLink { uri, name, title: text("title")?, description: text("description")?, mime_type, size })
}

/// A resource's contents (in a tool's result or a resource read), checked:
/// an absolute URI, a well-formed MIME type, and a blob whose bytes do not
/// contradict it.
pub fn resource_contents(at: &str, val: &Val) -> Result<ResourceContents, ContentError> {
    let reader = Reader { at };
    let uri = reader.string(reader.field(val, "uri")?)?;
    check_uri(&reader, &uri)?;
    let mime_type = reader.optional(reader.field(val, "mime-type")?, |v| reader.string(v))?;
    if let Some(mime) = &mime_type {
        check_mime_syntax(&reader, mime)?;
    }
    let body = match reader.case(reader.field(val, "body")?)? {
        ("text", Some(text)) => Body::Text(reader.string(text)?),
        ("blob", Some(blob)) => {
            let blob = reader.bytes(blob)?;
            if let (Some(mime), Some(found)) = (&mime_type, infer::get(&blob))
                && !same_type(&essence(mime), found.mime_type())
            {
                return reader
                    .fail(format!("declared `{mime}`, but the blob's bytes are `{}`", found.mime_type()));
            }
            Body::Blob(blob)
        }
        (case, _) => return reader.fail(format!("unknown body `{case}`")),
    };
    Ok(ResourceContents { uri, mime_type, body })
}

fn annotations(reader: &Reader<'_>, val: &Val) -> Result<Annotations, ContentError> {
    let audience = match reader.field(val, "audience")? {
        Val::List(roles) => roles
            .iter()
            .map(|role| match role {
                Val::Enum(case) if case == "user" => Ok(Role::User),
                Val::Enum(case) if case == "assistant" => Ok(Role::Assistant),
                _ => reader.fail("audience holds an unknown role"),
            })
            .collect::<Result<_, _>>()?,
        _ => return reader.fail("audience is not a list"),
    };
    let priority = reader.optional(reader.field(val, "priority")?, |v| match v {
        Val::Float64(p) if (0.0..=1.0).contains(p) => Ok(*p),
        Val::Float64(p) => reader.fail(format!("priority {p} is outside 0 to 1")),
        _ => reader.fail("priority is not an f64"),
    })?;
    let last_modified = reader.optional(reader.field(val, "last-modified")?, |v| {
        let time = reader.string(v)?;
        match humantime::parse_rfc3339(&time) {
            Ok(_) => Ok(time),
            Err(error) => reader.fail(format!("last-modified `{time}` is not an RFC 3339 time: {error}")),
        }
    })?;
    Ok(Annotations { audience, priority, last_modified })
}

/// A MIME type as `type/subtype` (with optional parameters), each part an
/// RFC 2045 token: nothing else reaches a client as a type.
fn check_mime_syntax(reader: &Reader<'_>, mime: &str) -> Result<(), ContentError> {
    let token = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let well_formed = mime.len() <= 255
        && !mime.chars().any(char::is_control)
        && essence.split_once('/').is_some_and(|(kind, sub)| token(kind) && token(sub));
    if well_formed { Ok(()) } else { reader.fail(format!("`{}` is not a MIME type", mime.escape_debug())) }
}

/// An absolute URI: a scheme, then no whitespace or control characters.
fn check_uri(reader: &Reader<'_>, uri: &str) -> Result<(), ContentError> {
    match url::Url::parse(uri) {
        Ok(_) if !uri.chars().any(|c| c.is_whitespace() || c.is_control()) => Ok(()),
        Ok(_) => reader.fail(format!("URI `{}` holds whitespace or control characters", uri.escape_debug())),
        Err(error) => reader.fail(format!("`{}` is not an absolute URI: {error}", uri.escape_debug())),
    }
}

/// The lower-case `type/subtype` of a MIME type.
fn essence(mime: &str) -> String {
    mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether a declared type and a sniffed one name the same format, allowing
/// the aliases in use for one format.
fn same_type(declared: &str, sniffed: &str) -> bool {
    fn canonical(mime: &str) -> &str {
        match mime {
            "audio/wav" | "audio/wave" | "audio/vnd.wave" => "audio/x-wav",
            "audio/mp3" => "audio/mpeg",
            "image/jpg" => "image/jpeg",
            "audio/flac" => "audio/x-flac",
            "audio/x-m4a" | "audio/mp4" => "audio/m4a",
            "image/x-icon" => "image/vnd.microsoft.icon",
            other => other,
        }
    }
    canonical(declared) == canonical(sniffed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest PNG: a 1×1 red pixel.
    pub const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00,
        0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01,
        0x01, 0x00, 0x18, 0xdd, 0x8d, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60,
        0x82,
    ];

    fn bytes(data: &[u8]) -> Val {
        Val::List(data.iter().map(|b| Val::U8(*b)).collect())
    }

    fn media(data: &[u8], mime: &str) -> Val {
        Val::Record(vec![("data".into(), bytes(data)), ("mime-type".into(), Val::String(mime.into()))])
    }

    fn block_val(case: &str, payload: Val, annotations: Option<Val>) -> Val {
        Val::Record(vec![
            ("kind".into(), Val::Variant(case.into(), Some(Box::new(payload)))),
            ("annotations".into(), Val::Option(annotations.map(Box::new))),
        ])
    }

    fn one(val: Val) -> Result<Block, ContentError> {
        blocks(&Val::List(vec![val])).map(|mut blocks| blocks.remove(0))
    }

    fn annotations_val(priority: f64, time: &str) -> Val {
        Val::Record(vec![
            ("audience".into(), Val::List(vec![Val::Enum("user".into())])),
            ("priority".into(), Val::Option(Some(Box::new(Val::Float64(priority))))),
            ("last-modified".into(), Val::Option(Some(Box::new(Val::String(time.into()))))),
        ])
    }

    fn contents(uri: &str, mime: Option<&str>, body: Val) -> Val {
        Val::Record(vec![
            ("uri".into(), Val::String(uri.into())),
            ("mime-type".into(), Val::Option(mime.map(|m| Box::new(Val::String(m.into()))))),
            ("body".into(), body),
        ])
    }

    #[test]
    fn the_recognised_shapes_are_the_ones_in_host_wit() {
        let mut resolve = wit_parser::Resolve::new();
        resolve.push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../wit/host")).unwrap();
        let (_, interface) =
            resolve.interfaces.iter().find(|(_, i)| i.name.as_deref() == Some("content")).expect("content");
        let named =
            |name: &str| ValType::from_wit(&resolve, &wit_parser::Type::Id(interface.types[name])).unwrap();
        assert_eq!(named("block"), block_type());
        assert_eq!(named("resource-contents"), resource_contents_type());
        assert_eq!(named("message"), message_type());
    }

    #[test]
    fn an_image_is_accepted_only_as_the_type_its_bytes_are() {
        let png = one(block_val("image", media(PNG, "image/png"), None)).unwrap();
        assert_eq!(png.binary(), Some(PNG));
        assert_eq!(png.size(), (PNG.len() + "image/png".len()) as u64);
        let error = one(block_val("image", media(PNG, "image/jpeg"), None)).unwrap_err();
        assert_eq!(error.at, "content[0]");
        assert!(error.reason.contains("bytes are `image/png`"), "{error}");
        let error = one(block_val("image", media(b"<svg onload=x>", "image/svg+xml"), None)).unwrap_err();
        assert!(error.reason.contains("not an image format moat recognises"), "{error}");
        let error = one(block_val("audio", media(PNG, "image/png"), None)).unwrap_err();
        assert!(error.reason.contains("not an audio type"), "{error}");
        let error = one(block_val("image", media(PNG, "image/png\r\nX-Injected: 1"), None)).unwrap_err();
        assert!(error.reason.contains("is not a MIME type"), "{error}");
    }

    #[test]
    fn wav_audio_is_accepted_under_its_aliases() {
        let wav = [b"RIFF".as_slice(), &[36, 0, 0, 0], b"WAVEfmt "].concat();
        for mime in ["audio/wav", "audio/x-wav", "audio/wave"] {
            one(block_val("audio", media(&wav, mime), None)).unwrap_or_else(|e| panic!("{mime}: {e}"));
        }
    }

    #[test]
    fn annotations_are_checked() {
        let ok = one(block_val(
            "text",
            Val::String("hi".into()),
            Some(annotations_val(0.5, "2026-12-04T10:00:00Z")),
        ))
        .unwrap();
        let annotations = ok.annotations.unwrap();
        assert_eq!(annotations.audience, vec![Role::User]);
        assert_eq!(annotations.priority, Some(0.5));
        let error = one(block_val(
            "text",
            Val::String("hi".into()),
            Some(annotations_val(1.5, "2026-12-04T10:00:00Z")),
        ))
        .unwrap_err();
        assert!(error.reason.contains("outside 0 to 1"), "{error}");
        let error = one(block_val("text", Val::String("hi".into()), Some(annotations_val(0.5, "yesterday"))))
            .unwrap_err();
        assert!(error.reason.contains("not an RFC 3339 time"), "{error}");
    }

    #[test]
    fn embedded_resources_need_absolute_uris_and_honest_blobs() {
        let text = Val::Variant("text".into(), Some(Box::new(Val::String("notes".into()))));
        let mut block =
            one(block_val("resource", contents("test://embedded", Some("text/plain"), text.clone()), None))
                .unwrap();
        let fields: Vec<_> = block.texts_mut().into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["resource.uri", "resource.text"]);
        let error = one(block_val("resource", contents("notes.txt", None, text), None)).unwrap_err();
        assert!(error.reason.contains("not an absolute URI"), "{error}");
        let blob = Val::Variant("blob".into(), Some(Box::new(bytes(PNG))));
        let error = one(block_val(
            "resource",
            contents("file:///a.pdf", Some("application/pdf"), blob.clone()),
            None,
        ))
        .unwrap_err();
        assert!(error.reason.contains("blob's bytes are `image/png`"), "{error}");
        // Bytes no sniffer knows are taken as declared.
        let unknown = Val::Variant("blob".into(), Some(Box::new(bytes(&[1, 2, 3]))));
        one(block_val(
            "resource",
            contents("file:///a.bin", Some("application/octet-stream"), unknown),
            None,
        ))
        .unwrap();
        one(block_val("resource", contents("file:///a.png", Some("image/png"), blob), None)).unwrap();
    }

    #[test]
    fn a_resource_link_needs_a_name_and_its_texts_are_scanned() {
        let link = |name: &str| {
            Val::Record(vec![
                ("uri".into(), Val::String("file:///r.txt".into())),
                ("name".into(), Val::String(name.into())),
                ("title".into(), Val::Option(None)),
                ("description".into(), Val::Option(Some(Box::new(Val::String("d".into()))))),
                ("mime-type".into(), Val::Option(None)),
                ("size".into(), Val::Option(Some(Box::new(Val::U64(12))))),
            ])
        };
        let mut block = one(block_val("resource-link", link("r"), None)).unwrap();
        let fields: Vec<_> = block.texts_mut().into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["uri", "name", "description"]);
        assert!(one(block_val("resource-link", link(""), None)).unwrap_err().reason.contains("needs a name"));
    }
}
