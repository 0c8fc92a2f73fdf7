//! The examples in docs/PROTOCOL.md are what the server speaks: every JSON
//! example under a "Client → server" heading parses as a client frame, and
//! every one under "Server → client" as a server message, so a client
//! written from the docs alone sends and reads the real thing.

use earshot_signaling::protocol::{parse_client_frame, ServerMessage};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Side {
    Client,
    Server,
    Neither,
}

/// `(heading, side, json)` for every ```json block, with the side its
/// section speaks for.
fn examples() -> Vec<(String, Side, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PROTOCOL.md"))
        .expect("docs/PROTOCOL.md");
    let mut out = vec![];
    let (mut side, mut heading) = (Side::Neither, String::new());
    let mut block: Option<String> = None;
    for line in text.lines() {
        if let Some(b) = block.as_mut() {
            if line.starts_with("```") {
                out.push((heading.clone(), side, block.take().unwrap()));
            } else {
                b.push_str(line);
                b.push('\n');
            }
            continue;
        }
        if line.starts_with("```json") {
            block = Some(String::new());
        } else if line.starts_with("## ") || line.starts_with("### ") {
            let title = line.trim_start_matches('#').trim();
            if title.contains("Client → server") {
                side = Side::Client;
            } else if title.contains("Server → client") {
                side = Side::Server;
            } else if line.starts_with("## ") {
                side = Side::Neither;
            }
            heading = title.to_string();
        }
    }
    out
}

#[test]
fn every_socket_example_in_the_protocol_docs_parses_as_the_server_reads_it() {
    let all = examples();
    let mut failures = vec![];
    let (mut client, mut server) = (0, 0);
    for (heading, side, block) in &all {
        // A block may hold several examples, one after another.
        let docs: Vec<_> = serde_json::Deserializer::from_str(block)
            .into_iter::<serde_json::Value>()
            .collect();
        for doc in docs {
            let value = match doc {
                Ok(v) => v,
                Err(e) => {
                    failures.push(format!(
                        "example under `{heading}` is not JSON: {e}\n{block}"
                    ));
                    break;
                }
            };
            let json = value.to_string();
            match side {
                Side::Client => {
                    client += 1;
                    if let Err(e) = parse_client_frame(&json) {
                        failures.push(format!(
                            "client example under `{heading}`: {}\n{json}",
                            e.message
                        ));
                    }
                }
                Side::Server => {
                    server += 1;
                    if let Err(e) = serde_json::from_value::<ServerMessage>(value) {
                        failures.push(format!("server example under `{heading}`: {e}\n{json}"));
                    }
                }
                Side::Neither => {}
            }
        }
    }
    assert!(
        client >= 25 && server >= 40,
        "{client} client and {server} server examples found"
    );
    assert!(
        failures.is_empty(),
        "{} of {} examples do not parse:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}
