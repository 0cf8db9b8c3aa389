//! The function artifact: build `bootstrap` for Lambda's architecture and glibc, check the
//! binary really loads on provided.al2023, zip it deterministically, and name it by SHA-256.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::env::Architecture;

/// provided.al2023 ships glibc 2.34: a binary needing a newer symbol version cannot load.
pub const MAX_GLIBC: (u32, u32) = (2, 34);

/// Why the function artifact cannot be built or used.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The function cannot be built here (no way to build for the architecture), cargo could not
    /// run or failed, or it built no `bootstrap`.
    #[error("{0}")]
    Build(String),
    /// Ctrl-C during the build: cargo and its compilers were stopped.
    #[error("interrupted during the function build, which was stopped; nothing was uploaded or deployed")]
    Interrupted,
    /// The binary or zip at `path` fails a check (not an ELF for the architecture, a glibc newer
    /// than Lambda's, no executable `bootstrap`); `message` says which.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// (Not a `source`: the message already says it, and error chains would say it twice.)
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
}

/// A zipped function, ready to upload.
#[derive(Clone, Debug)]
pub struct Artifact {
    /// The zip's bytes, as uploaded.
    pub zip: Vec<u8>,
    /// Lowercase hex SHA-256 of `zip`.
    pub sha256: String,
    /// The highest glibc version the binary needs (`None`: links no glibc symbols).
    pub glibc: Option<(u32, u32)>,
    /// Size of the unzipped binary.
    pub binary_bytes: usize,
}

impl Artifact {
    /// The object key in the assets bucket: the same code always gets the same key.
    pub fn key(&self) -> String {
        format!("{}/{}.zip", crate::stacks::bootstrap::ARTIFACT_PREFIX, self.sha256)
    }

    /// Checks and zips a built binary.
    pub fn from_binary(binary: &[u8], arch: Architecture, shown: &str) -> Result<Self, PackageError> {
        let invalid = |message: String| PackageError::Invalid { path: shown.to_owned(), message };
        check_elf(binary, arch).map_err(invalid)?;
        let glibc = max_glibc(binary);
        if let Some((maj, min)) = glibc
            && (maj, min) > MAX_GLIBC
        {
            return Err(invalid(format!(
                "needs GLIBC_{maj}.{min} but Lambda's provided.al2023 has glibc {}.{}: build with cargo-zigbuild for {}.{}.{} (see docs/deploying.md)",
                MAX_GLIBC.0,
                MAX_GLIBC.1,
                arch.target(),
                MAX_GLIBC.0,
                MAX_GLIBC.1
            )));
        }
        let zip = zip_bootstrap(binary).map_err(|e| invalid(format!("cannot zip: {e}")))?;
        Ok(Artifact { sha256: sha256_hex(&zip), zip, glibc, binary_bytes: binary.len() })
    }

    /// A prebuilt zip (`--function-zip`): it must hold an executable `bootstrap` that passes the
    /// same checks. The zip is uploaded as it is.
    pub fn from_zip(path: &Path, arch: Architecture) -> Result<Self, PackageError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| PackageError::Io { path: shown.clone(), error })?;
        let invalid = |message: String| PackageError::Invalid { path: shown.clone(), message };
        let mut archive =
            zip::ZipArchive::new(std::io::Cursor::new(&bytes)).map_err(|e| invalid(format!("not a zip: {e}")))?;
        let mut entry = archive.by_name("bootstrap").map_err(|_| invalid("has no `bootstrap` at its root".into()))?;
        if entry.unix_mode().is_some_and(|m| m & 0o111 == 0) {
            return Err(invalid("`bootstrap` is not executable".into()));
        }
        let mut binary = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut binary)
            .map_err(|e| invalid(format!("cannot read bootstrap: {e}")))?;
        drop(entry);
        let checked = Self::from_binary(&binary, arch, &shown)?;
        Ok(Artifact { sha256: sha256_hex(&bytes), zip: bytes, glibc: checked.glibc, binary_bytes: binary.len() })
    }
}

/// The zip's SHA-256 (lowercase hex) named by an artifact key ([`Artifact::key`]), or `None`
/// when `key` is not one.
pub fn key_sha256(key: &str) -> Option<&str> {
    let hex = key.strip_prefix(crate::stacks::bootstrap::ARTIFACT_PREFIX)?.strip_prefix('/')?.strip_suffix(".zip")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then_some(hex)
}

/// Lambda's `CodeSha256` (base64 of the digest) of a lowercase hex SHA-256.
pub fn base64_sha256(hex: &str) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .filter_map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Lowercase hex of Lambda's base64 `CodeSha256`, as artifact keys write it (the text itself
/// when it is not base64).
pub fn hex_sha256(base64_text: &str) -> String {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(base64_text) {
        Ok(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        Err(_) => base64_text.to_owned(),
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A zip holding `bootstrap` (mode 755) with a fixed timestamp: the same binary always gives
/// the same bytes.
pub fn zip_bootstrap(binary: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o755);
    w.start_file("bootstrap", options)?;
    w.write_all(binary)?;
    Ok(w.finish()?.into_inner())
}

/// An ELF64 little-endian executable for `arch`.
fn check_elf(b: &[u8], arch: Architecture) -> Result<(), String> {
    if b.get(0..4) != Some(b"\x7fELF") {
        return Err("is not an ELF executable".into());
    }
    if b.get(4) != Some(&2) || b.get(5) != Some(&1) {
        return Err("is not a 64-bit little-endian ELF".into());
    }
    let machine = b.get(18..20).map(|m| u16::from_le_bytes([m[0], m[1]]));
    let want = match arch {
        Architecture::X86_64 => 0x3E,
        Architecture::Arm64 => 0xB7,
    };
    if machine != Some(want) {
        return Err(format!("is not built for {}, the environment's function.architecture", arch.name()));
    }
    Ok(())
}

/// The highest `GLIBC_x.y` symbol version named in the binary.
pub fn max_glibc(b: &[u8]) -> Option<(u32, u32)> {
    let mut best = None;
    let needle = b"GLIBC_";
    let mut i = 0;
    while let Some(pos) = b.get(i..).and_then(|s| s.windows(needle.len()).position(|w| w == needle)) {
        let start = i + pos + needle.len();
        let digits: Vec<u8> = b.iter().skip(start).take_while(|c| c.is_ascii_digit() || **c == b'.').copied().collect();
        let text = String::from_utf8_lossy(&digits);
        let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
        if let (Some(Some(maj)), Some(Some(min))) = (parts.next(), parts.next()) {
            best = best.max(Some((maj, min)));
        }
        i = start;
    }
    best
}

/// Builds `bootstrap` for `arch` with the `lambda` profile: with cargo-zigbuild pinned to
/// glibc 2.34 when it is installed, else natively when the host is that architecture.
///
/// Cargo runs in a process group of its own, so Ctrl-C ([`super::interrupt`]) stops it and every
/// compiler it started at once, whether the signal reached only `infra` (as a CI runner sends
/// it) or the terminal's whole group.
///
/// # Errors
/// No way to build for `arch` here, the build failed, or [`PackageError::Interrupted`].
pub async fn build(workspace: &Path, arch: Architecture) -> Result<PathBuf, PackageError> {
    let target = arch.target();
    let zig = Command::new("cargo-zigbuild").arg("--version").output().is_ok_and(|o| o.status.success());
    let host_matches = arch.is_host();
    let mut cmd = tokio::process::Command::new("cargo");
    if zig {
        cmd.args(["zigbuild", "--target", &format!("{target}.{}.{}", MAX_GLIBC.0, MAX_GLIBC.1)]);
    } else if host_matches {
        cmd.args(["build"]);
    } else {
        return Err(PackageError::Build(format!(
            "cannot build for {target} here: install cargo-zigbuild (`scripts/lambda-build-tools`) or pass --function-zip"
        )));
    }
    // Cargo names the executable it built in its JSON messages, wherever the target folder is
    // (CARGO_TARGET_DIR, build.target-dir); diagnostics still go to the terminal.
    cmd.args(["--locked", "--profile", "lambda", "-p", "token-function", "--features", "lambda", "--bin", "bootstrap"])
        .args(["--message-format", "json-render-diagnostics"])
        .stdout(std::process::Stdio::piped())
        .current_dir(workspace)
        .process_group(0)
        .kill_on_drop(true);
    eprintln!("building bootstrap for {target}{}", if zig { " (cargo zigbuild, glibc 2.34)" } else { "" });
    let child = cmd.spawn().map_err(|e| PackageError::Build(format!("cannot run cargo: {e}")))?;
    let group = child.id();
    let out = tokio::select! {
        out = child.wait_with_output() => out.map_err(|e| PackageError::Build(format!("cargo: {e}")))?,
        () = super::interrupt::wait() => {
            if let Some(group) = group {
                stop_group(group).await;
            }
            return Err(PackageError::Interrupted);
        }
    };
    if !out.status.success() {
        return Err(PackageError::Build(format!("building bootstrap failed ({})", out.status)));
    }
    executable(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| PackageError::Build("cargo built no `bootstrap` executable".into()))
}

/// Stops process group `group` (cargo and the compilers it started): SIGTERM, then SIGKILL
/// after two seconds, as `kill(1)` sends them.
async fn stop_group(group: u32) {
    let signal = |sig: &str| {
        std::process::Command::new("kill")
            .args([sig, "--", &format!("-{group}")])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if signal("-TERM") {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        signal("-KILL");
    }
}

/// The `bootstrap` executable named by cargo's `compiler-artifact` JSON messages.
fn executable(messages: &str) -> Option<PathBuf> {
    messages.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find_map(|m| {
        (m["reason"] == "compiler-artifact" && m["target"]["name"] == "bootstrap")
            .then(|| m["executable"].as_str().map(PathBuf::from))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest ELF header the checks accept, plus some text.
    fn elf(machine: u16, text: &[u8]) -> Vec<u8> {
        let mut b = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
        b.resize(18, 0);
        b.extend(machine.to_le_bytes());
        b.resize(64, 0);
        b.extend(text);
        b
    }

    #[test]
    fn zips_are_deterministic_and_hold_an_executable_bootstrap() {
        let bin = elf(0x3E, b"GLIBC_2.17\0GLIBC_2.34\0GLIBC_2.2.5\0");
        let a = Artifact::from_binary(&bin, Architecture::X86_64, "b").unwrap();
        let b = Artifact::from_binary(&bin, Architecture::X86_64, "b").unwrap();
        assert_eq!(a.zip, b.zip);
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.key(), format!("token-function/{}.zip", a.sha256));
        assert_eq!(key_sha256(&a.key()), Some(a.sha256.as_str()));
        for not_a_key in
            ["token-function/abc.zip", "other/x.zip", &a.key().replace(".zip", ".jar"), &a.key().to_uppercase()]
        {
            assert_eq!(key_sha256(not_a_key), None, "{not_a_key}");
        }
        assert_eq!(a.glibc, Some((2, 34)));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.zip");
        std::fs::write(&path, &a.zip).unwrap();
        let again = Artifact::from_zip(&path, Architecture::X86_64).unwrap();
        assert_eq!(again.sha256, a.sha256);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&a.zip)).unwrap();
        assert_eq!(archive.by_name("bootstrap").unwrap().unix_mode().map(|m| m & 0o777), Some(0o755));
    }

    #[test]
    fn code_hashes_read_both_ways() {
        // SHA-256 of the empty input, as Lambda's base64 CodeSha256 and as an artifact key's hex.
        let (b64, hex) = (
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        );
        assert_eq!((base64_sha256(hex), hex_sha256(b64)), (b64.to_owned(), hex.to_owned()));
        assert_eq!(hex_sha256("not base64!"), "not base64!");
    }

    #[test]
    fn binaries_lambda_cannot_load_are_refused() {
        let new_glibc = elf(0x3E, b"GLIBC_2.35\0");
        let e = Artifact::from_binary(&new_glibc, Architecture::X86_64, "b").unwrap_err().to_string();
        assert!(e.contains("needs GLIBC_2.35"), "{e}");
        let e = Artifact::from_binary(&elf(0x3E, b""), Architecture::Arm64, "b").unwrap_err().to_string();
        assert!(e.contains("not built for arm64"), "{e}");
        let e = Artifact::from_binary(b"#!/bin/sh\n", Architecture::X86_64, "b").unwrap_err().to_string();
        assert!(e.contains("not an ELF"), "{e}");
        assert_eq!(max_glibc(b"GLIBC_2.9 GLIBC_2.28 GLIBC_PRIVATE"), Some((2, 28)));
    }

    #[test]
    fn the_executable_comes_from_cargo_s_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"token_function"},"executable":null}"#,
            "not json",
            r#"{"reason":"compiler-artifact","target":{"name":"bootstrap"},"executable":"/elsewhere/t/lambda/bootstrap"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(executable(&messages), Some(PathBuf::from("/elsewhere/t/lambda/bootstrap")));
        assert_eq!(executable(r#"{"reason":"build-finished","success":true}"#), None);
    }

    #[test]
    fn this_test_binary_reports_its_glibc() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let v = max_glibc(&me).expect("a glibc-linked test binary names GLIBC versions");
        assert!(v >= (2, 2), "{v:?}");
    }
}
