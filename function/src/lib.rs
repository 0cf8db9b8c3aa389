#![warn(missing_docs)]
//! The OAuth 2.0 client credentials token service. The core (`oauth`, `jwt`, `registry`,
//! `http`) knows nothing of AWS; `local` serves it over HTTP on loopback.

#[cfg(feature = "lambda")]
pub mod aws;
pub mod error;
pub mod http;
pub mod jwt;
pub mod key_pairs;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "local")]
pub mod local;
pub mod oauth;
pub mod permissions;
pub mod registry;
pub mod telemetry;
