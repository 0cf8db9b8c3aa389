//! The post-deploy smoke check against the real token endpoint, served by `infra serve`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_infra"))
        .args(["serve", "dev", "--port", "0"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.split(" on ").nth(1).and_then(|r| r.split_whitespace().next()).map(str::to_owned))
        .expect("serve prints its address");
    // Keep draining the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server(child, url)
}

fn outputs(base: &str, token_path: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("ApiUrl".to_owned(), base.to_owned()),
        ("JwksUrl".to_owned(), format!("{base}/.well-known/jwks.json")),
        ("TokenUrl".to_owned(), format!("{base}{token_path}")),
        ("OpenIdConfigurationUrl".to_owned(), format!("{base}/.well-known/openid-configuration")),
    ])
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn smoke_check_passes_against_the_token_endpoint() {
    let server = serve();
    let lines = rt().block_on(infra::deploy::smoke::check(&outputs(&server.1, "/oauth/token"), "ES256")).unwrap();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[2].ends_with(&format!("issuer {}", server.1)), "{lines:?}");
    assert!(lines[3].ends_with("401 invalid_client"), "{lines:?}");
}

#[test]
fn smoke_check_fails_on_a_wrong_answer() {
    let server = serve();
    // Metadata that names another token endpoint, another issuer, or is not there.
    let e = rt().block_on(infra::deploy::smoke::check(&outputs(&server.1, "/health"), "ES256")).unwrap_err();
    assert!(e.check == "metadata" && e.to_string().contains("token_endpoint is"), "{e}");
    let mut other_issuer = outputs(&server.1, "/oauth/token");
    // The same server under another name: the metadata names the issuer it was started with.
    other_issuer.insert("ApiUrl".into(), server.1.replace("127.0.0.1", "localhost"));
    let e = rt().block_on(infra::deploy::smoke::check(&other_issuer, "ES256")).unwrap_err();
    assert!(e.check == "metadata" && e.to_string().contains("issuer is"), "{e}");
    let mut missing = outputs(&server.1, "/oauth/token");
    missing.insert("OpenIdConfigurationUrl".into(), format!("{}/.well-known/openid", server.1));
    let e = rt().block_on(infra::deploy::smoke::check(&missing, "ES256")).unwrap_err();
    assert!(e.check == "metadata" && e.to_string().contains("answered 404"), "{e}");
    let e = rt().block_on(infra::deploy::smoke::check(&BTreeMap::new(), "ES256")).unwrap_err();
    assert!(e.to_string().contains("the stack has no output ApiUrl"), "{e}");
    // An environment set to RS256 whose JWKS serves a P-256 key.
    let e = rt().block_on(infra::deploy::smoke::check(&outputs(&server.1, "/oauth/token"), "RS256")).unwrap_err();
    assert!(e.check == "jwks" && e.to_string().contains("without an RS256 key"), "{e}");
}

/// Every request names its client: AWS's managed common rule set, in front of staging's and
/// prod's API, blocks requests without a User-Agent (`NoUserAgent_HEADER`).
#[test]
fn smoke_requests_carry_a_user_agent() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let body = "{}";
        let _ = write!(
            conn,
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        String::from_utf8_lossy(&request).to_lowercase()
    });
    let e = rt().block_on(infra::deploy::smoke::check(&outputs(&base, "/oauth/token"), "ES256")).unwrap_err();
    assert_eq!(e.check, "health");
    let request = seen.join().unwrap();
    assert!(request.contains(&format!("user-agent: {}", infra::deploy::smoke::USER_AGENT)), "{request}");
}
