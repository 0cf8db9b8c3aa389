//! Writes synthesized stacks to disk: one template per stack and a manifest that `deploy`
//! reads (stack names, parameters, capabilities, termination protection, tags).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env::Environment;
use crate::stacks::Stack;

/// Output format of templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// JSON (`<stack>.template.json`).
    Json,
    /// YAML (`<stack>.template.yaml`).
    Yaml,
}

impl Format {
    /// The template file extension for this format, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
        }
    }
}

/// Why writing an environment's templates, runbook or manifest failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A file or the output folder could not be written.
    #[error("cannot write {path}: {cause}")]
    Write {
        /// The file or folder.
        path: String,
        /// The I/O error (in the message, so not repeated as a source).
        cause: std::io::Error,
    },
    /// A template, the runbook or the manifest could not be rendered.
    #[error("cannot render {what} as {format}: {message}")]
    Render {
        /// What was rendered: a stack name, `runbook` or `manifest`.
        what: String,
        /// The format it was rendered in: `yaml`, `markdown` or `json`.
        format: &'static str,
        /// The renderer's error message.
        message: String,
    },
}

/// Renders a template in `format`.
pub fn render(stack: &Stack, format: Format) -> Result<String, SynthError> {
    match format {
        Format::Json => Ok(stack.template.to_json_string()),
        Format::Yaml => serde_norway::to_string(&stack.template.to_json()).map_err(|e| SynthError::Render {
            what: stack.name.clone(),
            format: "yaml",
            message: e.to_string(),
        }),
    }
}

/// What `deploy` needs to know about each stack, besides its template.
#[derive(Debug, Serialize)]
pub struct Manifest<'a> {
    /// The environment's name.
    pub environment: &'a str,
    /// The AWS account the environment deploys to.
    pub account_id: &'a str,
    /// The AWS Region the environment deploys to.
    pub region: &'a str,
    /// Every stack written, in deploy order.
    pub stacks: Vec<ManifestStack>,
}

/// One stack of the manifest.
#[derive(Debug, Serialize)]
pub struct ManifestStack {
    /// Which stack it is.
    pub id: crate::stacks::StackId,
    /// The CloudFormation stack name.
    pub name: String,
    /// The template's file name, in the manifest's folder (`service.template.json`).
    pub template: String,
    /// How many resources the template declares.
    pub resources: usize,
    /// The logical ids of the template's parameters.
    pub parameters: Vec<String>,
    /// The capabilities CloudFormation must be given for the template (`CAPABILITY_NAMED_IAM`).
    pub capabilities: Vec<&'static str>,
    /// Whether the stack has termination protection, from the environment file.
    pub termination_protection: bool,
    /// The stack tags: the environment file's `tags` and the ones infra adds.
    pub tags: std::collections::BTreeMap<String, String>,
}

/// Tags every stack of `env` carries.
pub fn stack_tags(env: &Environment) -> std::collections::BTreeMap<String, String> {
    let mut tags: std::collections::BTreeMap<String, String> =
        env.tags.iter().map(|(k, v)| (k.0.clone(), v.0.clone())).collect();
    tags.extend(env.own_tags().map(|(k, v)| (k.to_owned(), v.to_owned())));
    tags
}

/// A file of the output, and what this run did to it.
#[derive(Debug)]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// What happened to it.
    pub change: FileChange,
}

/// What a run did to one output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileChange {
    /// Written: it was missing or held other text.
    Wrote,
    /// Left alone: it already held exactly this text.
    Unchanged,
    /// Removed: a stack's template in the other format, from an earlier run.
    Removed,
}

impl FileChange {
    /// The word a run prints before the file's path.
    pub fn verb(self) -> &'static str {
        match self {
            FileChange::Wrote => "wrote",
            FileChange::Unchanged => "unchanged",
            FileChange::Removed => "removed",
        }
    }
}

/// Writes every stack of `env` into `dir` (created if missing) with its runbook and manifest,
/// and returns the files. A file that already holds the same text is not rewritten, so its
/// modification time says when it last changed (and ext4 does not flush a truncated file on
/// close for nothing).
pub fn write(dir: &Path, env: &Environment, stacks: &[&Stack], format: Format) -> Result<Vec<Written>, SynthError> {
    std::fs::create_dir_all(dir).map_err(|cause| SynthError::Write { path: dir.display().to_string(), cause })?;
    let mut written = Vec::new();
    let mut manifest = Manifest {
        environment: &env.name,
        account_id: env.account_id.as_str(),
        region: env.region.as_str(),
        stacks: Vec::new(),
    };
    for s in stacks {
        let file = format!("{}.template.{}", s.id.as_str(), format.extension());
        let path = dir.join(&file);
        let change = put(&path, &render(s, format)?)?;
        written.push(Written { path, change });
        // The stack's template in the other format, from an earlier run, would contradict the
        // manifest: it goes.
        for other in [Format::Json, Format::Yaml].into_iter().filter(|f| *f != format) {
            let stale = dir.join(format!("{}.template.{}", s.id.as_str(), other.extension()));
            match std::fs::remove_file(&stale) {
                Ok(()) => written.push(Written { path: stale, change: FileChange::Removed }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(cause) => return Err(SynthError::Write { path: stale.display().to_string(), cause }),
            }
        }
        manifest.stacks.push(ManifestStack {
            id: s.id,
            name: s.name.clone(),
            template: file,
            resources: s.template.resources().len(),
            parameters: s.template.parameters().keys().cloned().collect(),
            capabilities: s.template.capabilities(),
            termination_protection: env.termination_protection,
            tags: stack_tags(env),
        });
    }
    let path = dir.join("RUNBOOK.md");
    let runbook = crate::runbook::render(env).map_err(|e| SynthError::Render {
        what: "runbook".into(),
        format: "markdown",
        message: format!("{e:#}"),
    })?;
    let change = put(&path, &runbook)?;
    written.push(Written { path, change });
    let path = dir.join("manifest.json");
    let mut text = serde_json::to_string_pretty(&manifest).map_err(|e| SynthError::Render {
        what: "manifest".into(),
        format: "json",
        message: e.to_string(),
    })?;
    text.push('\n');
    let change = put(&path, &text)?;
    written.push(Written { path, change });
    Ok(written)
}

/// Writes `text` to `path` unless the file holds it already. The text goes
/// to `<path>.partial` first and is renamed over `path`, so an interrupted run (Ctrl-C, a full
/// disk) leaves the old file or the new one, never a part of either.
fn put(path: &Path, text: &str) -> Result<FileChange, SynthError> {
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(FileChange::Unchanged);
    }
    write_whole(path, text.as_bytes())
        .map_err(|cause| SynthError::Write { path: path.display().to_string(), cause })?;
    Ok(FileChange::Wrote)
}

/// Writes `bytes` to `<path>.partial`, then renames it over `path` (a rename within a folder
/// replaces the file at once, POSIX `rename`): a reader, or a run stopped half-way, sees the
/// old file or the new one. On an error the partial file is removed.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let written = std::fs::write(&partial, bytes).and_then(|()| std::fs::rename(&partial, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole write replaces the file and leaves no partial file; a failed one leaves the old
    /// file as it was and no partial file either.
    #[test]
    fn files_are_replaced_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, "old").unwrap();
        write_whole(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert!(!dir.path().join("t.json.partial").exists());
        // The rename cannot replace a non-empty folder: the write fails and nothing is left.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(blocked.join("inside")).unwrap();
        assert!(write_whole(&blocked, b"new").is_err());
        assert!(blocked.join("inside").is_dir());
        assert!(!dir.path().join("blocked.partial").exists());
        assert_eq!(put(&path, "new").unwrap(), FileChange::Unchanged);
        assert_eq!(put(&path, "newer").unwrap(), FileChange::Wrote);
    }
}
