//! The SFU load generator (`earshot-loadgen sfu`) run against a real
//! server: with either peer implementation, every participant hears the
//! other two and the report's figures add up.

mod common;

use std::process::Command;

use common::{TestServer, SECRET};

/// The value printed after `label` in the report (first number on its line).
fn figure(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in:\n{report}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number in {line:?}"))
}

async fn run_loadgen(server: &TestServer, peer: &str) -> String {
    let (addr, peer) = (server.addr.to_string(), peer.to_string());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_earshot-loadgen"))
            .args(["--addr", &addr, "--secret", SECRET, "sfu"])
            .args(["--rooms", "2", "--participants", "3"])
            .args(["--duration", "3", "--warmup", "2", "--peer", &peer])
            .output()
            .expect("run the load generator")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "load generator failed: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

/// 2 calls of 3: 12 forwarded streams of 50 packets/s.
fn check(report: &str) {
    let offered = 12.0 * 50.0;
    let forwarded = figure(report, "forwarded by server");
    let received = figure(report, "received by peers");
    assert!(
        forwarded > 0.9 * offered && forwarded < 1.1 * offered,
        "forwarded {forwarded}/s, offered {offered}/s:\n{report}"
    );
    assert!(
        received > 0.9 * forwarded && received <= 1.05 * forwarded,
        "peers received {received}/s of {forwarded}/s forwarded:\n{report}"
    );
    assert!(figure(report, "loss") < 2.0, "{report}");
}

#[tokio::test]
async fn lean_peers_connect_publish_and_hear_each_other_through_the_sfu() {
    let server = TestServer::start().await;
    check(&run_loadgen(&server, "lean").await);
}

#[tokio::test]
async fn webrtc_peers_give_the_same_report() {
    let server = TestServer::start().await;
    check(&run_loadgen(&server, "webrtc").await);
}
