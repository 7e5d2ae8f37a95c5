//! The fixture for the official MCP conformance suite: the tools its server
//! scenarios call, doing exactly what each scenario checks.

use std::time::Duration;

wit_bindgen::generate!({ world: "conformance", path: "wit", generate_all });

use moat::host::content::{Body, Kind, Media, Role};
use moat::host::elicitation::{self, Action};
use moat::host::input::{self, Form, Keyed, Question, Response};
use moat::host::logging::{Level, log};
use moat::host::progress::report;
use moat::host::roots;
use moat::host::sampling;

/// A 1×1 red pixel.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00,
    0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01,
    0x01, 0x00, 0x18, 0xdd, 0x8d, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60,
    0x82,
];

/// 10 ms of a 440 Hz square wave: 8 kHz, 8-bit mono PCM in a RIFF/WAVE file.
fn wav() -> Vec<u8> {
    let samples: Vec<u8> = (0..80).map(|i| if (i / 9) % 2 == 0 { 0xc0 } else { 0x40 }).collect();
    let mut wav = Vec::with_capacity(44 + samples.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8000u32.to_le_bytes()); // sample rate
    wav.extend_from_slice(&8000u32.to_le_bytes()); // byte rate
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    wav.extend_from_slice(&samples);
    wav
}

fn block(kind: Kind) -> Block {
    Block { kind, annotations: None }
}

fn png() -> Kind {
    Kind::Image(Media { data: PNG.to_vec(), mime_type: "image/png".into() })
}

fn embedded(uri: &str, mime_type: &str, text: &str) -> Kind {
    Kind::Resource(ResourceContents {
        uri: uri.into(),
        mime_type: Some(mime_type.into()),
        body: Body::Text(text.into()),
    })
}

struct Conformance;

impl Guest for Conformance {
    fn test_simple_text() -> String {
        "This is a simple text response for testing.".to_string()
    }

    fn test_error_handling() -> Result<String, String> {
        Err("This tool intentionally returns an error for testing".to_string())
    }

    fn test_tool_with_logging() -> String {
        log(Level::Info, "Tool execution started", &[]);
        std::thread::sleep(Duration::from_millis(50));
        log(Level::Info, "Tool processing data", &[]);
        std::thread::sleep(Duration::from_millis(50));
        log(Level::Info, "Tool execution completed", &[]);
        "Tool with logging executed successfully".to_string()
    }

    fn test_tool_with_progress() -> String {
        for (i, done) in [0.0, 50.0, 100.0].into_iter().enumerate() {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(50));
            }
            report(done, Some(100.0), None);
        }
        "Tool with progress executed successfully".to_string()
    }

    fn test_image_content() -> Vec<Block> {
        vec![block(png())]
    }

    fn test_audio_content() -> Vec<Block> {
        vec![block(Kind::Audio(Media { data: wav(), mime_type: "audio/wav".into() }))]
    }

    fn test_embedded_resource() -> Vec<Block> {
        vec![block(embedded(
            "test://embedded-resource",
            "text/plain",
            "This is an embedded resource content.",
        ))]
    }

    fn test_multiple_content_types() -> Vec<Block> {
        vec![
            block(Kind::Text("Multiple content types test:".into())),
            block(png()),
            block(embedded(
                "test://mixed-content-resource",
                "application/json",
                r#"{"test":"data","value":123}"#,
            )),
        ]
    }

    fn static_text() -> ResourceContents {
        text_contents("test://static-text", "text/plain", "This is the content of the static text resource.")
    }

    fn static_binary() -> ResourceContents {
        ResourceContents {
            uri: "test://static-binary".into(),
            mime_type: Some("image/png".into()),
            body: Body::Blob(PNG.to_vec()),
        }
    }

    fn template_data(id: String) -> ResourceContents {
        let data = format!(r#"{{"id":"{id}","templateTest":true,"data":"Data for ID: {id}"}}"#);
        text_contents(&format!("test://template/{id}/data"), "application/json", &data)
    }

    fn watched_resource() -> ResourceContents {
        text_contents("test://watched-resource", "text/plain", "A resource to watch.")
    }

    fn test_simple_prompt() -> Vec<Message> {
        vec![user(Kind::Text("This is a simple prompt for testing.".into()))]
    }

    fn test_prompt_with_arguments(arg1: String, arg2: String) -> Vec<Message> {
        vec![user(Kind::Text(format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'")))]
    }

    fn test_prompt_with_embedded_resource(resource_uri: String) -> Vec<Message> {
        vec![
            user(embedded(&resource_uri, "text/plain", "Embedded resource content for testing.")),
            user(Kind::Text("Please process the embedded resource above.".into())),
        ]
    }

    fn complete_prompt_arguments(argument: String, value: String) -> Vec<String> {
        let words: &[&str] = match argument.as_str() {
            "arg1" => &["paris", "park", "party", "test", "testing"],
            _ => &["world", "word", "work"],
        };
        words.iter().filter(|w| w.starts_with(&value)).map(|w| w.to_string()).collect()
    }

    fn complete_template_id(_argument: String, value: String) -> Vec<String> {
        ["123", "124", "200"].iter().filter(|id| id.starts_with(&value)).map(|id| id.to_string()).collect()
    }

    fn test_sampling(prompt: String) -> Result<String, String> {
        let request = sampling::Request {
            messages: vec![user(Kind::Text(prompt))],
            system_prompt: None,
            max_tokens: 100,
        };
        let reply = sampling::create_message(&request)?;
        match reply.content.kind {
            Kind::Text(text) => Ok(format!("LLM response: {text}")),
            _ => Err("the model answered with something other than text".into()),
        }
    }

    fn test_elicitation(message: String) -> Result<String, String> {
        let schema = r#"{"type":"object","properties":{"username":{"type":"string","description":"User's response"},"email":{"type":"string","description":"User's email address"}},"required":["username","email"]}"#;
        let answer = elicitation::ask(&message, schema)?;
        Ok(format!(
            "User response: <action: {}, content: {}>",
            action(answer.action),
            answer.content.unwrap_or_default()
        ))
    }

    fn test_elicitation_sep1034_defaults() -> Result<String, String> {
        let schema = r#"{"type":"object","properties":{"name":{"type":"string","default":"John Doe"},"age":{"type":"integer","default":30},"score":{"type":"number","default":95.5},"status":{"type":"string","enum":["active","inactive","pending"],"default":"active"},"verified":{"type":"boolean","default":true}}}"#;
        completed(elicitation::ask("Please review your profile", schema)?)
    }

    fn test_elicitation_sep1330_enums() -> Result<String, String> {
        let schema = r#"{"type":"object","properties":{"untitledSingle":{"type":"string","enum":["option1","option2","option3"]},"titledSingle":{"type":"string","oneOf":[{"const":"value1","title":"First Option"},{"const":"value2","title":"Second Option"},{"const":"value3","title":"Third Option"}]},"legacyEnum":{"type":"string","enum":["opt1","opt2","opt3"],"enumNames":["Option One","Option Two","Option Three"]},"untitledMulti":{"type":"array","items":{"type":"string","enum":["option1","option2","option3"]}},"titledMulti":{"type":"array","items":{"anyOf":[{"const":"value1","title":"First Choice"},{"const":"value2","title":"Second Choice"},{"const":"value3","title":"Third Choice"}]}}}}"#;
        completed(elicitation::ask("Please choose", schema)?)
    }

    fn test_prompt_with_image() -> Vec<Message> {
        vec![user(png()), user(Kind::Text("Please analyze the image above.".into()))]
    }

    fn test_input_required_result_elicitation() -> Result<String, String> {
        let name = ask_name("user_name", "What is your name?")?;
        Ok(format!("Hello, {name}!"))
    }

    fn test_input_required_result_sampling() -> Result<String, String> {
        let [answer] = ask([("capital_question", sample("What is the capital of France?", 100))])?;
        Ok(format!("The model said: {}", sampled_text(answer)?))
    }

    fn test_input_required_result_list_roots() -> Result<String, String> {
        let roots = roots::list_roots()?;
        let uris: Vec<String> = roots.into_iter().map(|root| root.uri).collect();
        Ok(format!("The client's roots: {}", uris.join(", ")))
    }

    fn test_input_required_result_request_state() -> Result<String, String> {
        let ok = ask_confirm()?;
        Ok(format!("state-ok: the answer came back through the checked request state (ok = {ok})"))
    }

    fn test_input_required_result_multiple_inputs() -> Result<String, String> {
        let [name, greeting, roots] = ask([
            ("user_name", elicit("What is your name?", NAME_SCHEMA)),
            ("greeting", sample("Generate a greeting", 50)),
            ("client_roots", Question::ListRoots),
        ])?;
        let name = accepted_field(name, "name")?;
        let greeting = sampled_text(greeting)?;
        let roots = match roots? {
            Response::Roots(roots) => roots.len(),
            _ => return Err("expected the roots".into()),
        };
        Ok(format!("{greeting} {name} ({roots} roots)"))
    }

    fn test_input_required_result_multi_round() -> Result<String, String> {
        let name = ask_name("step1", "Step 1: What is your name?")?;
        let schema = r#"{"type":"object","properties":{"color":{"type":"string"}},"required":["color"]}"#;
        let [color] = ask([("step2", elicit("Step 2: What is your favorite color?", schema))])?;
        let color = accepted_field(color, "color")?;
        Ok(format!("{name} likes {color}"))
    }

    fn test_input_required_result_tampered_state() -> Result<String, String> {
        let ok = ask_confirm()?;
        Ok(format!("confirmed: {ok}"))
    }

    fn test_input_required_result_capabilities() -> Result<String, String> {
        let [name, greeting] = ask([
            ("user_name", elicit("What is your name?", NAME_SCHEMA)),
            ("greeting", sample("Generate a greeting", 50)),
        ])?;
        let name = accepted_field(name, "name").unwrap_or_else(|_| "whoever you are".into());
        let greeting = sampled_text(greeting).unwrap_or_else(|_| "Hello".into());
        Ok(format!("{greeting}, {name}"))
    }

    fn test_logging_tool() -> String {
        log(Level::Info, "test_logging_tool ran", &[]);
        "logged once at info".into()
    }

    fn test_streaming_elicitation() -> Result<String, String> {
        let name = ask_name("user_name", "What is your name?")?;
        Ok(format!("Hello, {name}!"))
    }

    fn test_missing_capability() -> Result<String, String> {
        input::require(&[input::Capability::Sampling]);
        let [answer] = ask([("greeting", sample("Generate a greeting", 50))])?;
        sampled_text(answer)
    }

    fn test_input_required_result_prompt() -> Result<Vec<Message>, String> {
        let schema = r#"{"type":"object","properties":{"context":{"type":"string"}},"required":["context"]}"#;
        let [context] = ask([("user_context", elicit("What context should the prompt use?", schema))])?;
        let context = accepted_field(context, "context")?;
        Ok(vec![user(Kind::Text(format!("With this context in mind: {context}")))])
    }
}

const NAME_SCHEMA: &str = r#"{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"#;

fn elicit(message: &str, schema: &str) -> Question {
    Question::Elicit(Form { message: message.into(), requested_schema: schema.into() })
}

fn sample(text: &str, max_tokens: u32) -> Question {
    Question::Sample(sampling::Request {
        messages: vec![user(Kind::Text(text.into()))],
        system_prompt: None,
        max_tokens,
    })
}

/// Asks `N` questions in one round; one response (or its error) each.
fn ask<const N: usize>(questions: [(&str, Question); N]) -> Result<[Result<Response, String>; N], String> {
    let keyed: Vec<Keyed> =
        questions.into_iter().map(|(key, question)| Keyed { key: key.into(), question }).collect();
    input::ask_all(&keyed)?
        .try_into()
        .map_err(|_| "the host answered a different number of questions".to_string())
}

fn ask_name(key: &str, message: &str) -> Result<String, String> {
    let [answer] = ask([(key, elicit(message, NAME_SCHEMA))])?;
    accepted_field(answer, "name")
}

fn ask_confirm() -> Result<bool, String> {
    let schema = r#"{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}"#;
    let [answer] = ask([("confirm", elicit("Please confirm", schema))])?;
    let content = accepted(answer)?;
    Ok(content.contains("true"))
}

/// The content of an accepted elicitation, as JSON text.
fn accepted(response: Result<Response, String>) -> Result<String, String> {
    match response? {
        Response::Elicited(answer) if answer.action == Action::Accept => {
            Ok(answer.content.unwrap_or_default())
        }
        Response::Elicited(answer) => Err(format!("the user chose {}", action(answer.action))),
        _ => Err("expected the user's answer".into()),
    }
}

/// One string field of an accepted elicitation (a JSON object).
fn accepted_field(response: Result<Response, String>, field: &str) -> Result<String, String> {
    let content = accepted(response)?;
    let needle = format!("\"{field}\":\"");
    let start = content.find(&needle).ok_or_else(|| format!("the answer has no `{field}`: {content}"))?
        + needle.len();
    let end = content[start..].find('"').ok_or("the answer's string does not end")? + start;
    Ok(content[start..end].to_string())
}

fn sampled_text(response: Result<Response, String>) -> Result<String, String> {
    match response? {
        Response::Sampled(reply) => match reply.content.kind {
            Kind::Text(text) => Ok(text),
            _ => Err("the model answered with something other than text".into()),
        },
        _ => Err("expected the model's answer".into()),
    }
}

fn text_contents(uri: &str, mime_type: &str, text: &str) -> ResourceContents {
    ResourceContents { uri: uri.into(), mime_type: Some(mime_type.into()), body: Body::Text(text.into()) }
}

fn action(action: Action) -> &'static str {
    match action {
        Action::Accept => "accept",
        Action::Decline => "decline",
        Action::Cancel => "cancel",
    }
}

fn completed(answer: elicitation::Answer) -> Result<String, String> {
    let content = answer.content.unwrap_or_else(|| "{}".into());
    Ok(format!("Elicitation completed: action={}, content={content}", action(answer.action)))
}

fn user(kind: Kind) -> Message {
    Message { role: Role::User, content: block(kind) }
}

export!(Conformance);
