//! The `fetch` tool of PyPI's `mcp-server-fetch`, as a sandboxed component:
//! robots.txt checked for the page and for every redirect it follows, HTML
//! made Markdown (htmd, where the original uses readability and
//! markdownify), and the window `start_index`..`+max_length` of the text
//! with the original's truncation note. Which hosts it reaches, and which
//! addresses are refused, is the host's HTTP grant; the host follows no
//! redirect, so the component does, checking each hop as the original does.

wit_bindgen::generate!({ world: "fetch", path: "wit", generate_all });

use moat::host::content::Kind;
use url::Url;

struct Fetch;

const USER_AGENT: &str =
    "ModelContextProtocol/1.0 (Autonomous; +https://github.com/modelcontextprotocol/servers)";
/// The product token robots.txt groups are matched against.
const ROBOTS_AGENT: &str = "ModelContextProtocol";
/// Redirects followed before giving up (httpx's default).
const MAX_REDIRECTS: usize = 20;

fn get(url: &Url) -> Result<http_client::Response, String> {
    http_client::get(url.as_str(), &[("User-Agent".into(), USER_AGENT.into())])
}

fn header<'a>(response: &'a http_client::Response, name: &str) -> Option<&'a str> {
    response.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Why a GET did not end in a response.
enum Failed {
    /// A check before a redirect hop refused it: its message, as it is.
    Refused(String),
    /// The request itself failed, in words close to httpx's.
    Request(String),
}

/// GET, following redirects; `before` runs before every hop after the first.
fn get_following(
    url: &Url,
    before: &dyn Fn(&Url) -> Result<(), String>,
) -> Result<http_client::Response, Failed> {
    let mut current = url.clone();
    for hop in 0..=MAX_REDIRECTS {
        if hop > 0 {
            before(&current).map_err(Failed::Refused)?;
        }
        let response = get(&current).map_err(Failed::Request)?;
        let location = header(&response, "location");
        match (response.status, location) {
            (301 | 302 | 303 | 307 | 308, Some(location)) => {
                current = current
                    .join(location)
                    .map_err(|e| Failed::Request(format!("a redirect to {location}: {e}")))?;
            }
            _ => return Ok(response),
        }
    }
    Err(Failed::Request("TooManyRedirects('Exceeded maximum allowed redirects.')".into()))
}

fn robots_url(url: &Url) -> Url {
    let mut robots = url.clone();
    robots.set_path("/robots.txt");
    robots.set_query(None);
    robots.set_fragment(None);
    robots
}

/// The original's `check_may_autonomously_fetch_url`.
fn check_robots(url: &Url) -> Result<(), String> {
    let robots = robots_url(url);
    let response = get_following(&robots, &|_| Ok(()))
        .map_err(|_| format!("Failed to fetch robots.txt {robots} due to a connection issue"))?;
    match response.status {
        401 | 403 => {
            return Err(format!(
                "When fetching robots.txt ({robots}), received status {} so assuming that autonomous fetching is not allowed, the user can try manually fetching by using the fetch prompt",
                response.status
            ));
        }
        400..=499 => return Ok(()),
        _ => {}
    }
    let text = String::from_utf8_lossy(&response.body).into_owned();
    let rules: String =
        text.lines().filter(|line| !line.trim().starts_with('#')).collect::<Vec<_>>().join("\n");
    let allowed = match texting_robots::Robot::new(ROBOTS_AGENT, rules.as_bytes()) {
        Ok(robot) => robot.allowed(url.as_str()),
        Err(_) => true,
    };
    if allowed {
        return Ok(());
    }
    Err(format!(
        "The sites robots.txt ({robots}), specifies that autonomous fetching of this page is not allowed, <useragent>{USER_AGENT}</useragent>\n<url>{url}</url><robots>\n{text}\n</robots>\nThe assistant must let the user know that it failed to view the page. The assistant may provide further guidance based on the above information.\nThe assistant can tell the user that they can try manually fetching the page by using the fetch prompt within their UI."
    ))
}

/// HTML as Markdown, or the original's failure note: the page's main
/// content found as Mozilla's Readability finds it (dom_smoothie, a port;
/// the original runs readability through readabilipy), navigation, sidebars
/// and footers left out, and a page's `h1` read as `h2` as Readability
/// does; then Markdown, lists bulleted `* ` as markdownify bullets them.
fn markdown(html: &str) -> String {
    let failed = "<error>Page failed to be simplified from HTML</error>".to_string();
    let content = dom_smoothie::Readability::new(html, None, None)
        .and_then(|mut readability| readability.parse())
        .map(|article| article.content.to_string())
        .unwrap_or_default();
    if content.trim().is_empty() {
        return failed;
    }
    let html =
        content.replace("<h1", "<h2").replace("</h1", "</h2").replace("<H1", "<h2").replace("</H1", "</h2");
    let options = htmd::options::Options { ul_bullet_spacing: 1, ..Default::default() };
    let converter = htmd::HtmlToMarkdown::builder()
        .skip_tags(vec!["script", "style", "head", "noscript"])
        .options(options)
        .build();
    match converter.convert(&html) {
        Ok(text) if !text.trim().is_empty() => text,
        _ => failed,
    }
}

fn text_block(text: String) -> Block {
    Block { kind: Kind::Text(text), annotations: None }
}

impl Guest for Fetch {
    fn fetch(
        url: String,
        max_length: Option<u32>,
        start_index: Option<u32>,
        raw: Option<bool>,
    ) -> Result<Vec<Block>, String> {
        let max_length = max_length.unwrap_or(5000) as usize;
        let start_index = start_index.unwrap_or(0) as usize;
        if !(1..=999_999).contains(&max_length) {
            return Err(format!("max_length must be between 1 and 999999, not {max_length}"));
        }
        let page = Url::parse(&url).map_err(|e| format!("url: not a URL ({e})"))?;
        if !matches!(page.scheme(), "http" | "https") {
            return Err(format!("url: the scheme must be http or https, not {}", page.scheme()));
        }
        check_robots(&page)?;
        let response = get_following(&page, &check_robots).map_err(|failed| match failed {
            Failed::Refused(message) => message,
            Failed::Request(error) => format!("Failed to fetch {page}: {error}"),
        })?;
        if response.status >= 400 {
            return Err(format!("Failed to fetch {page} - status code {}", response.status));
        }
        let body = String::from_utf8_lossy(&response.body).into_owned();
        let content_type = header(&response, "content-type").unwrap_or("").to_string();
        let head: String = body.chars().take(100).collect();
        let is_html = head.contains("<html") || content_type.contains("text/html") || content_type.is_empty();
        let (content, prefix) = if is_html && !raw.unwrap_or(false) {
            (markdown(&body), String::new())
        } else {
            (
                body,
                format!(
                    "Content type {content_type} cannot be simplified to markdown, but here is the raw content:\n"
                ),
            )
        };
        let characters: Vec<char> = content.chars().collect();
        let window = if start_index >= characters.len() {
            "<error>No more content available.</error>".to_string()
        } else {
            let end = (start_index + max_length).min(characters.len());
            let mut window: String = characters[start_index..end].iter().collect();
            let taken = end - start_index;
            if taken == max_length && characters.len() > end {
                window.push_str(&format!(
                    "\n\n<error>Content truncated. Call the fetch tool with a start_index of {end} to get more content.</error>"
                ));
            }
            window
        };
        Ok(vec![text_block(format!("{prefix}Contents of {page}:\n{window}"))])
    }
}

export!(Fetch);
