//! Property tests of the request parser: any headers and body give an answer, never a panic,
//! and a 5xx never comes from client input.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, clippy::expect_used)]

use proptest::prelude::*;
use token_function::oauth::{MAX_BODY_BYTES, parse};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn arbitrary_bytes_never_panic(
        ct in proptest::option::of(".{0,60}"),
        auth in proptest::collection::vec(".{0,80}", 0..3),
        body in proptest::collection::vec(any::<u8>(), 0..(MAX_BODY_BYTES + 64)),
    ) {
        let auth: Vec<&str> = auth.iter().map(String::as_str).collect();
        if let Err(e) = parse(ct.as_deref(), &auth, &body) {
            prop_assert!(e.status() < 500);
        }
    }

    #[test]
    fn form_shaped_bodies_never_panic(
        pairs in proptest::collection::vec(("(grant_type|scope|client_id|client_secret|x|%[0-9A-F]{2}|)", "[a-zA-Z0-9_:%+ &=.-]{0,20}"), 0..8),
        basic in proptest::option::of("[A-Za-z0-9+/=]{0,40}"),
    ) {
        let body: String = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let header = basic.map(|b| format!("Basic {b}"));
        let auth: Vec<&str> = header.iter().map(String::as_str).collect();
        if let Err(e) = parse(Some("application/x-www-form-urlencoded"), &auth, body.as_bytes()) {
            prop_assert!(e.status() < 500);
        }
    }
}
