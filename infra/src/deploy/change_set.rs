//! Change sets as a plan: what a deploy would add, modify, replace or remove, printed
//! Terraform-style with IAM and security-group changes first and replacements called out.

use std::fmt::Write;

/// What happens to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Action {
    /// Modified with `Replacement` `True` or `Conditional`: the resource is (or may be) replaced.
    Replace,
    /// Deleted (`Remove`).
    Remove,
    /// Created (`Add`).
    Add,
    /// Updated in place (`Modify` without replacement).
    Modify,
    /// Any other action (`Import`, `Dynamic`), or none given.
    Other,
}

/// A change a deploy must not make unasked: replacing a signing key (its tokens stop verifying
/// at once; a staged rotation is `keys rotate`) or replacing or removing the client registry
/// secret (every client would be lost).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Guarded {
    /// The signing key of this logical id would be replaced.
    SigningKeyReplaced(String),
    /// KMS cannot change a key's `KeySpec` (AWS::KMS::Key reference): CloudFormation would fail
    /// the update and roll back.
    KeySpecChanged(String),
    /// A resource holding what cannot be made again (the client registry, the signing key
    /// pairs, the key they are encrypted under) would be replaced or removed.
    DataLost(String),
}

/// The first guarded change of a service stack's plan. `keys` are the signing key slots' logical
/// ids, `kept` those of resources whose data cannot be made again.
pub fn guarded(changes: &[Change], keys: &[&str], kept: &[&str]) -> Option<Guarded> {
    changes.iter().find_map(|c| match c.action {
        // Shown as a modification or a replacement: CloudFormation fails it either way.
        Action::Modify | Action::Replace
            if keys.contains(&c.logical_id.as_str()) && c.details.iter().any(|d| d == "KeySpec") =>
        {
            Some(Guarded::KeySpecChanged(c.logical_id.clone()))
        }
        Action::Replace if keys.contains(&c.logical_id.as_str()) => {
            Some(Guarded::SigningKeyReplaced(c.logical_id.clone()))
        }
        Action::Replace | Action::Remove if kept.contains(&c.logical_id.as_str()) => {
            Some(Guarded::DataLost(c.logical_id.clone()))
        }
        _ => None,
    })
}

/// One resource change.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The resource's logical id in the template.
    pub logical_id: String,
    /// Its CloudFormation type (`AWS::Lambda::Function`).
    pub resource_type: String,
    /// What happens to it.
    pub action: Action,
    /// `True`, `False` or `Conditional`, for modifications.
    pub replacement: Option<String>,
    /// Changed properties (or `Tags`, `Metadata`, …).
    pub details: Vec<String>,
    /// Each changed property with its values, where the change set gives them
    /// (`DescribeChangeSet` with `IncludePropertyValues`), in path order.
    pub properties: Vec<PropertyChange>,
}

/// One property's change, as a change set gives it (CloudFormation API reference,
/// "ResourceTargetDefinition"): its path in the resource, the values before and after (which
/// CloudFormation may truncate, and masks for `NoEcho` parameters), and whether it recreates the
/// resource.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyChange {
    /// `/Properties/Environment/Variables/TOKEN_ISSUER`.
    pub path: String,
    /// The value before the change, if it had one.
    pub before: Option<String>,
    /// The value after the change, if it has one.
    pub after: Option<String>,
    /// `Always` or `Conditionally` when the change recreates the resource.
    pub recreation: Option<String>,
}

impl PropertyChange {
    /// `path: before -> after`, values shortened to `width` characters each.
    fn render(&self, width: usize) -> String {
        let value = |v: &Option<String>| match v {
            None => "(none)".to_owned(),
            Some(v) if v.chars().count() > width => format!("{}…", v.chars().take(width).collect::<String>()),
            Some(v) => v.clone(),
        };
        let recreation = match self.recreation.as_deref() {
            Some("Always") => "  (replaces the resource)",
            Some("Conditionally") => "  (may replace the resource)",
            _ => "",
        };
        format!("{}: {} -> {}{recreation}", self.path, value(&self.before), value(&self.after))
    }
}

impl Change {
    /// From the SDK's view of a change.
    pub fn from_sdk(c: &aws_sdk_cloudformation::types::ResourceChange) -> Self {
        let replacement = c.replacement().map(|r| r.as_str().to_owned());
        let action = match c.action().map(|a| a.as_str()) {
            Some("Add") => Action::Add,
            Some("Remove") => Action::Remove,
            Some("Modify") if matches!(replacement.as_deref(), Some("True" | "Conditional")) => Action::Replace,
            Some("Modify") => Action::Modify,
            _ => Action::Other,
        };
        let mut details: Vec<String> = c
            .details()
            .iter()
            .filter_map(|d| d.target())
            .filter_map(|t| t.name().map(str::to_owned).or_else(|| t.attribute().map(|a| a.as_str().to_owned())))
            .collect();
        details.sort();
        details.dedup();
        let mut properties: Vec<PropertyChange> = c
            .details()
            .iter()
            .filter_map(|d| d.target())
            .filter(|t| t.before_value().is_some() || t.after_value().is_some())
            .map(|t| PropertyChange {
                path: t.path().or(t.name()).unwrap_or_default().to_owned(),
                before: t.before_value().map(str::to_owned),
                after: t.after_value().map(str::to_owned),
                recreation: t.requires_recreation().map(|r| r.as_str().to_owned()).filter(|r| r != "Never"),
            })
            .collect();
        properties.sort();
        properties.dedup();
        Change {
            logical_id: c.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: c.resource_type().unwrap_or_default().to_owned(),
            action,
            replacement,
            details,
            properties,
        }
    }

    fn is_security(&self) -> bool {
        self.resource_type.starts_with("AWS::IAM::")
            || self.resource_type.starts_with("AWS::EC2::SecurityGroup")
            || self.resource_type == "AWS::Lambda::Permission"
            || self.resource_type == "AWS::KMS::Key"
            || self.resource_type.ends_with("Policy")
    }
}

/// Counts of each kind of change.
pub fn summary(changes: &[Change]) -> String {
    let n = |a: Action| changes.iter().filter(|c| c.action == a).count();
    format!(
        "{} to add, {} to change, {} to replace, {} to remove",
        n(Action::Add),
        n(Action::Modify) + n(Action::Other),
        n(Action::Replace),
        n(Action::Remove)
    )
}

/// How much of a property's value a plan shows, in characters.
pub const VALUE_WIDTH: usize = 120;

/// The plan of one stack.
pub fn render(stack: &str, changes: &[Change]) -> String {
    let mut out = String::new();
    if changes.is_empty() {
        let _ = writeln!(out, "{stack}: no changes");
        return out;
    }
    let _ = writeln!(out, "{stack}: {}", summary(changes));
    let mut sorted: Vec<&Change> = changes.iter().collect();
    sorted
        .sort_by(|a, b| (!a.is_security(), a.action, &a.logical_id).cmp(&(!b.is_security(), b.action, &b.logical_id)));
    let (security, rest): (Vec<&Change>, Vec<&Change>) = sorted.into_iter().partition(|c| c.is_security());
    for (title, group) in [("IAM, key and security changes", security), ("Other changes", rest)] {
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {title}:");
        for c in group {
            let (mark, note) = match c.action {
                Action::Add => ("+  ", String::new()),
                Action::Remove => ("-  ", String::new()),
                Action::Modify => ("~  ", String::new()),
                Action::Replace => (
                    "-/+",
                    format!(
                        "  !! REPLACED{}: a new physical resource is created and the old one deleted",
                        if c.replacement.as_deref() == Some("Conditional") { " (maybe)" } else { "" }
                    ),
                ),
                Action::Other => ("?  ", String::new()),
            };
            let details = if c.details.is_empty() { String::new() } else { format!(" [{}]", c.details.join(", ")) };
            let _ = writeln!(out, "    {mark} {} ({}){details}{note}", c.logical_id, c.resource_type);
            for p in &c.properties {
                let _ = writeln!(out, "          {}", p.render(VALUE_WIDTH));
            }
        }
    }
    out
}

/// Plans of several stacks as Markdown for a reviewer (a pull request's comment): first every
/// IAM, key and security change, then every replacement, across the stacks, each a table row
/// (stack, resource, type, what happens, the properties that change); then each stack's whole
/// plan as [`render`] prints it, folded. `stacks` are (name, changes) in deploy order. Table
/// cells are HTML-escaped (`|` too) with newlines folded.
pub fn markdown(stacks: &[(&str, &[Change])]) -> String {
    /// Which changes a section shows.
    type Pick = fn(&Change) -> bool;
    let sections: [(&str, Pick); 2] =
        [("IAM, key and security changes", Change::is_security), ("Replacements", |c| c.action == Action::Replace)];
    let mut out = String::new();
    for (title, pick) in sections {
        let rows: Vec<String> = stacks
            .iter()
            .flat_map(|(stack, changes)| {
                let mut picked: Vec<&Change> = changes.iter().filter(|c| pick(c)).collect();
                picked.sort_by(|a, b| (a.action, &a.logical_id).cmp(&(b.action, &b.logical_id)));
                picked.into_iter().map(move |c| markdown_row(stack, c))
            })
            .collect();
        let _ = writeln!(out, "#### {title}\n");
        if rows.is_empty() {
            let _ = writeln!(out, "None.\n");
            continue;
        }
        let _ = writeln!(out, "| Stack | Resource | Type | Action | Properties |\n| --- | --- | --- | --- | --- |");
        for row in rows {
            let _ = writeln!(out, "{row}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "#### Every change\n");
    for (stack, changes) in stacks {
        let text = render(stack, changes).replace("```", "'''");
        let first = text.lines().next().unwrap_or(stack);
        let _ = writeln!(out, "<details><summary>{first}</summary>\n\n```\n{text}```\n</details>\n");
    }
    out
}

/// One change as a row of [`markdown`]'s tables.
fn markdown_row(stack: &str, c: &Change) -> String {
    // As HTML code: a value (from the templates) cannot end the span or add Markdown.
    let cell = |s: &str| {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('|', "&#124;").replace('\n', " ")
    };
    let what = match c.action {
        Action::Add => "add",
        Action::Remove => "remove",
        Action::Modify => "modify",
        Action::Replace if c.replacement.as_deref() == Some("Conditional") => "**may replace**",
        Action::Replace => "**replace**",
        Action::Other => "other",
    };
    let properties: Vec<String> = match c.properties.is_empty() {
        true => c.details.iter().map(|d| format!("<code>{}</code>", cell(d))).collect(),
        false => c.properties.iter().map(|p| format!("<code>{}</code>", cell(&p.render(VALUE_WIDTH)))).collect(),
    };
    format!("| {stack} | {} | {} | {what} | {} |", cell(&c.logical_id), cell(&c.resource_type), properties.join("<br>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IAM and security changes first, then replacements, across stacks; every change after.
    #[test]
    fn a_reviewer_reads_iam_and_replacements_first() {
        let change = |id: &str, ty: &str, action: Action, replacement: Option<&str>| Change {
            logical_id: id.into(),
            resource_type: ty.into(),
            action,
            replacement: replacement.map(str::to_owned),
            details: vec!["Policies".into()],
            properties: vec![],
        };
        let service = [
            change("TokenFunction", "AWS::Lambda::Function", Action::Replace, Some("True")),
            change("TokenFunctionRole", "AWS::IAM::Role", Action::Modify, Some("False")),
            change("TokenLogs", "AWS::Logs::LogGroup", Action::Add, None),
            change("TokenSigningKey", "AWS::KMS::Key", Action::Replace, Some("Conditional")),
        ];
        let monitoring = [Change {
            properties: vec![PropertyChange {
                path: "/Properties/PolicyDocument".into(),
                before: Some("a|b".into()),
                after: Some("c\nd".into()),
                recreation: None,
            }],
            ..change("AlertTopicPolicy", "AWS::SNS::TopicPolicy", Action::Modify, Some("False"))
        }];
        let md = markdown(&[("t-dev-service", &service), ("t-dev-monitoring", &monitoring)]);
        let section = |title: &str| {
            let start = md.find(&format!("#### {title}")).unwrap_or_else(|| panic!("{title}: {md}"));
            let rest = &md[start + 5..];
            rest[..rest.find("#### ").unwrap_or(rest.len())].to_owned()
        };
        let security = section("IAM, key and security changes");
        let rows: Vec<&str> = security.lines().filter(|l| l.starts_with("| t-dev")).collect();
        assert_eq!(rows.len(), 3, "{security}");
        assert!(
            rows[0].starts_with("| t-dev-service | TokenSigningKey | AWS::KMS::Key | **may replace** |"),
            "{security}"
        );
        assert!(
            rows[1]
                .starts_with("| t-dev-service | TokenFunctionRole | AWS::IAM::Role | modify | <code>Policies</code> |"),
            "{security}"
        );
        assert!(rows[2].contains("<code>/Properties/PolicyDocument: a&#124;b -&gt; c d</code>"), "{security}");
        let replaced = section("Replacements");
        let rows: Vec<&str> = replaced.lines().filter(|l| l.starts_with("| t-dev")).collect();
        assert_eq!(rows.len(), 2, "{replaced}");
        assert!(rows[0].contains("| TokenFunction | AWS::Lambda::Function | **replace** |"), "{replaced}");
        assert!(rows[1].contains("| TokenSigningKey |"), "{replaced}");
        let every = section("Every change");
        assert!(
            every.contains("<summary>t-dev-service: 1 to add, 1 to change, 2 to replace, 0 to remove</summary>"),
            "{every}"
        );
        assert!(every.contains("+   TokenLogs (AWS::Logs::LogGroup)"), "{every}");
        assert!(md.find("#### IAM").unwrap() < md.find("#### Replacements").unwrap());
        let none = markdown(&[("t-dev-service", &service[2..3])]);
        assert!(
            none.contains("#### IAM, key and security changes\n\nNone.") && none.contains("#### Replacements\n\nNone."),
            "{none}"
        );
    }

    #[test]
    fn replacing_keys_or_losing_the_registry_is_guarded() {
        let change = |id: &str, ty: &str, action: Action| Change {
            logical_id: id.into(),
            resource_type: ty.into(),
            action,
            replacement: None,
            details: vec![],
            properties: vec![],
        };
        let keys = ["TokenSigningKey", "TokenSigningKeyB"];
        let key = |id: &str| Some(Guarded::SigningKeyReplaced(id.into()));
        let lost = |id: &str| Some(Guarded::DataLost(id.into()));
        let kept = ["ClientRegistrySecret", "TokenSigningKeyPairs", "TokenSigningKeyEncryptionKey"];
        let cases = [
            (change("TokenSigningKey", "AWS::KMS::Key", Action::Replace), key("TokenSigningKey")),
            (change("TokenSigningKeyB", "AWS::KMS::Key", Action::Replace), key("TokenSigningKeyB")),
            (change("TokenSigningKey", "AWS::KMS::Key", Action::Modify), None),
            (
                Change {
                    details: vec!["Description".into(), "KeySpec".into()],
                    ..change("TokenSigningKey", "AWS::KMS::Key", Action::Modify)
                },
                Some(Guarded::KeySpecChanged("TokenSigningKey".into())),
            ),
            (
                Change { details: vec!["KeySpec".into()], ..change("AlertTopicKey", "AWS::KMS::Key", Action::Modify) },
                None,
            ),
            (
                Change {
                    details: vec!["KeySpec".into()],
                    ..change("TokenSigningKeyB", "AWS::KMS::Key", Action::Replace)
                },
                Some(Guarded::KeySpecChanged("TokenSigningKeyB".into())),
            ),
            (change("TokenSigningKey", "AWS::KMS::Key", Action::Remove), None),
            (change("TokenSigningKeyB", "AWS::KMS::Key", Action::Add), None),
            (change("AlertTopicKey", "AWS::KMS::Key", Action::Replace), None),
            (
                change("ClientRegistrySecret", "AWS::SecretsManager::Secret", Action::Replace),
                lost("ClientRegistrySecret"),
            ),
            (
                change("ClientRegistrySecret", "AWS::SecretsManager::Secret", Action::Remove),
                lost("ClientRegistrySecret"),
            ),
            (change("ClientRegistrySecret", "AWS::SecretsManager::Secret", Action::Modify), None),
            (
                change("TokenSigningKeyPairs", "AWS::SecretsManager::Secret", Action::Replace),
                lost("TokenSigningKeyPairs"),
            ),
            (
                change("TokenSigningKeyPairs", "AWS::SecretsManager::Secret", Action::Remove),
                lost("TokenSigningKeyPairs"),
            ),
            (change("TokenSigningKeyPairs", "AWS::SecretsManager::Secret", Action::Modify), None),
            (
                change("TokenSigningKeyEncryptionKey", "AWS::KMS::Key", Action::Replace),
                lost("TokenSigningKeyEncryptionKey"),
            ),
            (
                change("TokenSigningKeyEncryptionKey", "AWS::KMS::Key", Action::Remove),
                lost("TokenSigningKeyEncryptionKey"),
            ),
            (change("TokenSigningKeyEncryptionKey", "AWS::KMS::Key", Action::Modify), None),
            (change("OtherSecret", "AWS::SecretsManager::Secret", Action::Remove), None),
        ];
        for (c, want) in cases {
            assert_eq!(guarded(std::slice::from_ref(&c), &keys, &kept), want, "{c:?}");
        }
    }

    /// A plan names each changed property with its values, shortened, and what recreates.
    #[test]
    fn plans_show_property_values() {
        let change = Change {
            logical_id: "TokenFunction".into(),
            resource_type: "AWS::Lambda::Function".into(),
            action: Action::Modify,
            replacement: Some("False".into()),
            details: vec!["Environment".into(), "MemorySize".into()],
            properties: vec![
                PropertyChange {
                    path: "/Properties/Environment/Variables/TOKEN_ISSUER".into(),
                    before: Some("https://auth.dev.example.com".into()),
                    after: Some("https://abc.execute-api.eu-west-1.amazonaws.com/v1".into()),
                    recreation: None,
                },
                PropertyChange {
                    path: "/Properties/MemorySize".into(),
                    before: Some("256".into()),
                    after: Some("x".repeat(200)),
                    recreation: Some("Always".into()),
                },
            ],
        };
        let text = render("s", &[change]);
        assert!(text.contains("    ~   TokenFunction (AWS::Lambda::Function) [Environment, MemorySize]\n"), "{text}");
        assert!(
            text.contains("          /Properties/Environment/Variables/TOKEN_ISSUER: https://auth.dev.example.com -> https://abc.execute-api.eu-west-1.amazonaws.com/v1\n"),
            "{text}"
        );
        assert!(
            text.contains(&format!("/Properties/MemorySize: 256 -> {}…  (replaces the resource)", "x".repeat(120))),
            "{text}"
        );
    }

    /// The SDK's change, as `DescribeChangeSet` with `IncludePropertyValues` returns it.
    #[test]
    fn property_values_are_read_from_the_change_set() {
        use aws_sdk_cloudformation::types::{
            ChangeAction, Replacement, RequiresRecreation, ResourceAttribute, ResourceChange, ResourceChangeDetail,
            ResourceTargetDefinition,
        };
        let target = |path: &str, before: &str, after: &str, recreation: RequiresRecreation| {
            ResourceChangeDetail::builder()
                .target(
                    ResourceTargetDefinition::builder()
                        .attribute(ResourceAttribute::Properties)
                        .name(path.rsplit('/').next().unwrap())
                        .path(path)
                        .before_value(before)
                        .after_value(after)
                        .requires_recreation(recreation)
                        .build(),
                )
                .build()
        };
        let sdk = ResourceChange::builder()
            .action(ChangeAction::Modify)
            .logical_resource_id("TokenFunction")
            .resource_type("AWS::Lambda::Function")
            .replacement(Replacement::False)
            .details(target("/Properties/MemorySize", "256", "512", RequiresRecreation::Never))
            .details(target("/Properties/FunctionName", "a", "b", RequiresRecreation::Always))
            .details(
                ResourceChangeDetail::builder()
                    .target(ResourceTargetDefinition::builder().attribute(ResourceAttribute::Tags).build())
                    .build(),
            )
            .build();
        let c = Change::from_sdk(&sdk);
        assert_eq!(c.details, ["FunctionName", "MemorySize", "Tags"]);
        assert_eq!(
            c.properties,
            [
                PropertyChange {
                    path: "/Properties/FunctionName".into(),
                    before: Some("a".into()),
                    after: Some("b".into()),
                    recreation: Some("Always".into())
                },
                PropertyChange {
                    path: "/Properties/MemorySize".into(),
                    before: Some("256".into()),
                    after: Some("512".into()),
                    recreation: None
                },
            ]
        );
    }
}
