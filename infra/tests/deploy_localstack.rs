//! The whole deploy cycle against LocalStack running on 127.0.0.1 without Docker, installed and
//! started by `scripts/localstack`: bootstrap, create, no-op, update, a failed update rolled
//! back, a failed create replaced on request, status, guards, destroy.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// LocalStack's URL, installing and starting it once.
fn localstack() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let script = workspace().join("scripts/localstack");
        let install = Command::new(&script).arg("install").status().expect("scripts/localstack install");
        assert!(install.success(), "installing LocalStack failed");
        let start = Command::new(&script)
            .arg("start")
            // Started here, it stops when this process ends.
            .env("LOCALSTACK_OWNER_PID", std::process::id().to_string())
            .output()
            .expect("scripts/localstack start");
        assert!(start.status.success(), "{}", String::from_utf8_lossy(&start.stderr));
        String::from_utf8(start.stdout).unwrap().trim().to_owned()
    })
}

struct Env {
    dir: tempfile::TempDir,
    zip: PathBuf,
}

impl Env {
    fn new(prefix: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let dev = std::fs::read_to_string(workspace().join("environments/dev.yaml")).unwrap();
        let dev = dev
            .replace("account_id: \"111111111111\"", "account_id: \"000000000000\"")
            .replace("stack_prefix: token-service", &format!("stack_prefix: {prefix}"));
        std::fs::write(dir.path().join("dev.yaml"), dev).unwrap();
        let zip = stub_zip(dir.path(), "function.zip", 64);
        Env { dir, zip }
    }

    fn edit(&self, from: &str, to: &str) {
        let p = self.dir.path().join("dev.yaml");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(p, text.replacen(from, to, 1)).unwrap();
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out: Output = self.command(args).output().unwrap();
        let (o, e) =
            (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        (out.status.code().unwrap_or(-1), o, e)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_infra"));
        c.arg("--environments")
            .arg(self.dir.path())
            .args(args)
            .current_dir(workspace())
            .env("AWS_ENDPOINT_URL", localstack())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env("INFRA_POLL_MS", "50")
            .stdin(Stdio::null());
        c
    }

    /// `diff` with this environment's function zip, as `deploy` takes it.
    fn diff(&self) -> (i32, String, String) {
        self.run(&["diff", "dev", "--function-zip", self.zip.to_str().unwrap()])
    }

    fn deploy(&self, extra: &[&str]) -> (i32, String, String) {
        // LocalStack never runs the function, so there is nothing to smoke-check.
        let mut args = vec!["deploy", "dev", "--no-smoke-check", "--function-zip", self.zip.to_str().unwrap()];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

/// Out-of-band changes, made the way an operator would with boto3.
fn boto(code: &str) {
    let script = format!(
        "import boto3\ndef client(name): return boto3.client(name, endpoint_url='{}', region_name='eu-west-1', aws_access_key_id='test', aws_secret_access_key='test')\n{code}",
        localstack()
    );
    let ok = Command::new("python3").args(["-c", &script]).status().unwrap().success();
    assert!(ok, "boto3: {code}");
}

fn unique(tag: &str) -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() % 100_000_000;
    format!("{tag}{n}")
}

#[test]
fn deploy_cycle() {
    let prefix = unique("c");
    let env = Env::new(&prefix);

    let (code, _, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 1, "{err}");
    // Next steps keep the --environments folder this test passes.
    let target = format!("dev --environments {}", env.dir.path().display());
    assert!(err.contains(&format!("run `cargo run -- bootstrap {target}` first")), "{err}");

    let (code, out, err) = env.run(&["bootstrap", "dev", "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{prefix}-dev-bootstrap.AssetsBucketName = ")), "{out}");

    // Without a terminal and without --yes nothing runs, and nothing is left behind.
    let (code, _, err) = env.deploy(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("refusing to prompt without a terminal; pass --yes"), "{err}");
    assert!(err.contains("function: uploaded s3://"), "{err}");
    let (_, status, _) = env.run(&["status", "dev"]);
    assert!(status.contains(&format!("{prefix}-dev-service: not deployed")), "{status}");

    // Create.
    let (code, out, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("{prefix}-dev-service: CREATE_COMPLETE")), "{err}");
    assert!(err.contains(&format!("{prefix}-dev-monitoring: CREATE_COMPLETE")), "{err}");
    assert!(out.contains(&format!("{prefix}-dev-service.TokenUrl = https://")), "{out}");
    assert!(err.contains("CREATE_COMPLETE              AWS::Lambda::Function"), "{err}");

    // No-op: nothing to change, nothing uploaded, exit 0.
    let (code, _, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already there"), "{err}");
    assert!(err.contains(&format!("{prefix}-dev-service: no changes")), "{err}");
    assert!(err.contains(&format!("{prefix}-dev-monitoring: no changes")), "{err}");
    let (code, _, err) = env.diff();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("function: the code here is the deployed code"), "{err}");
    // Without the zip `--deployed-code` plans with the deployed code, building nothing.
    let (code, _, err) = env.run(&["diff", "dev", "--deployed-code"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("function: as deployed") && !err.contains("building bootstrap"), "{err}");

    // Update: the plan shows it (exit 2), the deploy applies it.
    env.edit("memory_mb: 256", "memory_mb: 512");
    let (code, _, err) = env.diff();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("~   TokenFunction (AWS::Lambda::Function)"), "{err}");
    let (code, _, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("{prefix}-dev-service: UPDATE_COMPLETE")), "{err}");

    // A failed update rolls back, and the root cause (not the cascade) is named.
    let domain = format!("auth.{prefix}.example.com");
    boto(&format!(
        "client('apigateway').create_domain_name(domainName='{domain}', regionalCertificateArn='arn:aws:acm:eu-west-1:000000000000:certificate/x', endpointConfiguration={{'types': ['REGIONAL']}})"
    ));
    env.edit(
        "  manage_account_logging_role: true\n",
        &format!("  manage_account_logging_role: true\n  custom_domain:\n    domain_name: {domain}\n    certificate_arn: arn:aws:acm:eu-west-1:000000000000:certificate/test\n"),
    );
    let (code, _, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("root cause: ApiDomainName (AWS::ApiGateway::DomainName) CREATE_FAILED"), "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains("ended UPDATE_ROLLBACK_COMPLETE: the update was rolled back"), "{err}");
    let (_, status, _) = env.run(&["status", "dev"]);
    assert!(status.contains(&format!("{prefix}-dev-service: UPDATE_ROLLBACK_COMPLETE")), "{status}");

    // Destroy needs confirmation; with --yes --force it deletes both stacks.
    let (code, _, err) = env.run(&["destroy", "dev"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("pass --yes --force"), "{err}");
    let (code, _, err) = env.run(&["destroy", "dev", "--yes", "--force"]);
    assert_eq!(code, 0, "{err}");
    let (_, status, _) = env.run(&["status", "dev"]);
    assert!(status.contains(&format!("{prefix}-dev-service: not deployed")), "{status}");
    assert!(status.contains(&format!("{prefix}-dev-monitoring: not deployed")), "{status}");
}

/// `alarms list` shows the deployed alarms; `alarms test` drills them through a temporary queue
/// and leaves nothing behind; an alarm in ALARM is not drilled, one whose actions are off is
/// reported not delivered. (LocalStack does not enforce topic or queue policies, nor KMS key
/// policies: the causes named for those are tested by `deploy::alarms`'s tables.) A change of
/// `termination_protection` alone reaches the stacks.
#[test]
fn alarms_are_listed_and_drilled_and_protection_follows_the_file() {
    let prefix = unique("a");
    let env = Env::new(&prefix);
    assert_eq!(env.run(&["bootstrap", "dev", "--yes"]).0, 0);
    let (code, out, err) = env.run(&["alarms", "dev", "list"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty() && err.contains("not in CloudWatch"), "{err}");
    assert_eq!(env.deploy(&["--yes"]).0, 0);

    let (code, out, err) = env.run(&["alarms", "dev", "list"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 9, "{out}");
    assert!(
        out.contains(&format!("{prefix}-dev-lambda-errors  OK  GreaterThanThreshold 20 in 2 of 3 periods of 300 s")),
        "{out}"
    );

    // Refused without a terminal and without --yes; an unknown alarm names the known ones.
    let (code, _, err) = env.run(&["alarms", "dev", "test"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("pages identity-dev@example.com (email)"), "{err}");
    assert!(err.contains("refusing to prompt without a terminal; pass --yes"), "{err}");
    let (code, _, err) = env.run(&["alarms", "dev", "test", "--alarm", "nope", "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no deployed alarm `nope`; known: lambda_errors"), "{err}");

    // What a killed drill left (its queue, still subscribed) is removed first.
    boto(&format!(
        "q = client('sqs').create_queue(QueueName='{prefix}-dev-alarm-drill-1')['QueueUrl']\n\
         arn = client('sqs').get_queue_attributes(QueueUrl=q, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         client('sns').subscribe(TopicArn='arn:aws:sns:eu-west-1:000000000000:{prefix}-dev-warning', Protocol='sqs', Endpoint=arn)"
    ));
    let (code, out, err) = env.run(&["alarms", "dev", "test", "--yes", "--wait", "20s"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!(
            "removing what an earlier drill left: arn:aws:sqs:eu-west-1:000000000000:{prefix}-dev-alarm-drill-1"
        )),
        "{err}"
    );
    assert_eq!(out.matches(": delivered in ").count(), 9, "{out}");
    // The alarms that were OK are OK again; the others are left to CloudWatch's evaluation.
    let (_, after, _) = env.run(&["alarms", "dev", "list"]);
    for key in ["lambda-errors", "lambda-throttles"] {
        assert!(after.contains(&format!("{prefix}-dev-{key}  OK  ")), "{after}");
    }
    boto(&format!(
        "q = client('sqs').list_queues(QueueNamePrefix='{prefix}-dev-alarm-drill-').get('QueueUrls', [])\n\
         assert not q, q\n\
         subs = [s for s in client('sns').list_subscriptions()['Subscriptions'] if s['Protocol'] == 'sqs' and '{prefix}-dev' in s['TopicArn']]\n\
         assert not subs, subs"
    ));

    // An alarm in ALARM is not drilled (a drill would end a real alarm with OK); one whose
    // actions are off is not delivered, and says why.
    let name = |key: &str| format!("{prefix}-dev-{key}");
    boto(&format!(
        "cw = client('cloudwatch')\n\
         cw.set_alarm_state(AlarmName='{}', StateValue='ALARM', StateReason='real')\n\
         cw.set_alarm_state(AlarmName='{}', StateValue='OK', StateReason='evaluated')\n\
         cw.disable_alarm_actions(AlarmNames=['{}'])",
        name("api-5xx-rate"),
        name("api-4xx-rate"),
        name("api-4xx-rate")
    ));
    let (code, out, _) = env.run(&["alarms", "dev", "test", "--yes", "--wait", "5s", "--alarm", "api_5xx_rate"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{}: not drilled: it is in ALARM now", name("api-5xx-rate"))), "{out}");
    let (code, out, _) = env.run(&["alarms", "dev", "test", "--yes", "--wait", "5s", "--alarm", "api_4xx_rate"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("{}: NOT delivered: its actions are disabled", name("api-4xx-rate"))), "{out}");
    protection_follows_the_file(&env, &prefix);
}

/// Termination protection follows the file even when no template changes.
fn protection_follows_the_file(env: &Env, prefix: &str) {
    env.edit("termination_protection: false", "termination_protection: true");
    let (code, _, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("{prefix}-dev-service: termination protection set to true")), "{err}");
    boto(&format!(
        "s = client('cloudformation').describe_stacks(StackName='{prefix}-dev-service')['Stacks'][0]\n\
         assert s['EnableTerminationProtection'], s"
    ));
}

/// `deploy --hotswap` updates only the function's code where that is the whole change, and
/// deploys in full otherwise; the stack then shows as drifted (`drift`, `diff`) until a full
/// deploy, which puts the stack's code back when no change set would. Refused, before any AWS
/// call, where the file does not allow it.
#[test]
fn hotswaps_change_only_code_and_show_as_drift() {
    let prefix = unique("h");
    let env = Env::new(&prefix);
    let (one, two) = (env.zip.to_str().unwrap().to_owned(), other_zip(&env));
    let function = format!("{prefix}-dev-token");
    let runs = |zip: &str| {
        let sha = infra::deploy::package::sha256_hex(&std::fs::read(zip).unwrap());
        boto(&format!(
            "c = client('lambda').get_function_configuration(FunctionName='{function}')\n\
             assert c['CodeSha256'] == '{}', c['CodeSha256']",
            infra::deploy::package::base64_sha256(&sha)
        ));
    };
    assert_eq!(env.run(&["bootstrap", "dev", "--yes"]).0, 0);
    assert_eq!(env.deploy(&["--yes"]).0, 0);
    runs(&one);

    let (code, _, err) = env.run(&["deploy", "dev", "--hotswap", "--function-zip", &two]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("hotswapped {function} ($LATEST) to token-function/")), "{err}");
    runs(&two);
    let (code, out, err) = env.run(&["drift", "dev", "--stack", "service"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("MODIFIED   TokenFunction (AWS::Lambda::Function): ")
            && out.contains(&format!(
                "$LATEST runs code of SHA-256 {}, not",
                infra::deploy::package::sha256_hex(&std::fs::read(&two).unwrap())
            )),
        "{out}"
    );
    let (code, _, err) = env.diff();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("drifted: ") && err.contains("deploy puts the stack's code token-function/"), "{err}");
    let (code, _, err) = env.run(&["deploy", "dev", "--hotswap", "--function-zip", &two]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already; nothing to hotswap") && err.contains("no longer matches CloudFormation"), "{err}");
    // Back to the stack's own code: nothing has drifted.
    let (code, _, err) = env.run(&["deploy", "dev", "--hotswap", "--function-zip", &one]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("this is the code {prefix}-dev-service names, so nothing has drifted")), "{err}");
    assert_eq!(env.run(&["drift", "dev", "--stack", "service"]).0, 0);
    assert_eq!(env.run(&["deploy", "dev", "--hotswap", "--function-zip", &two]).0, 0);

    // A full deploy whose change sets leave the code alone puts the stack's code back.
    let (code, _, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("function: put the stack's code token-function/"), "{err}");
    runs(&one);
    assert_eq!(env.run(&["drift", "dev", "--stack", "service"]).0, 0);

    // More than code: said, then deployed in full.
    env.edit("memory_mb: 256", "memory_mb: 384");
    let (code, _, err) = env.run(&["deploy", "dev", "--hotswap", "--yes", "--no-smoke-check", "--function-zip", &two]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("not a code-only change, so a full deploy instead:"), "{err}");
    assert!(err.contains(&format!("{prefix}-dev-service: the template changes (resources TokenFunction)")), "{err}");
    boto(&format!(
        "assert client('lambda').get_function_configuration(FunctionName='{function}')['MemorySize'] == 384"
    ));
    runs(&two);
    hotswaps_are_refused_unless_allowed(&env);
    assert_eq!(env.run(&["destroy", "dev", "--yes", "--force"]).0, 0);
}

/// `watch --function-zip` hotswaps the zip at start and each time it is written again (as a
/// build writes it), names a change of the environment file that is more than code, and stops
/// on Ctrl-C saying what it left.
#[test]
fn watch_hotswaps_each_written_zip_until_ctrl_c() {
    use std::io::{BufRead, BufReader};
    let prefix = unique("w");
    let env = Env::new(&prefix);
    assert_eq!(env.run(&["bootstrap", "dev", "--yes"]).0, 0);
    assert_eq!(env.deploy(&["--yes"]).0, 0);
    let watched = env.dir.path().join("watched.zip");
    std::fs::copy(other_zip(&env), &watched).unwrap();
    let mut child = env
        .command(&["watch", "dev", "--function-zip", watched.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || stderr.lines().map_while(Result::ok).for_each(|l| drop(tx.send(l))));
    let until = |what: &str| {
        let mut seen = Vec::new();
        while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(60)) {
            if line.contains(what) {
                return line;
            }
            seen.push(line);
        }
        panic!("no `{what}` in:\n{}", seen.join("\n"));
    };
    until("hotswapped");
    until("watching for changes");
    std::fs::copy(&env.zip, &watched).unwrap();
    let line = until("hotswapped");
    let sha = infra::deploy::package::sha256_hex(&std::fs::read(&env.zip).unwrap());
    assert!(line.contains(&format!("to token-function/{sha}.zip")), "{line}");
    until("watching for changes");
    env.edit("memory_mb: 256", "memory_mb: 384");
    until("not hotswapped: a deploy would change more than the function's code:");
    until("watching for changes");
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let rest: Vec<String> = rx.iter().collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{rest:?}");
    let text = rest.join("\n");
    assert!(text.contains("stopped watching dev") && text.contains("was last seen running its stack's code"), "{text}");
    assert_eq!(env.run(&["destroy", "dev", "--yes", "--force"]).0, 0);
}

/// Another function zip than the environment's (one more byte in the binary).
fn other_zip(env: &Env) -> String {
    stub_zip(env.dir.path(), "other.zip", 65).to_str().unwrap().to_owned()
}

/// A zip of the smallest arm64 ELF the packaging checks accept, `len` bytes long (64 or more;
/// each length another code): LocalStack never runs it.
fn stub_zip(dir: &Path, name: &str, len: usize) -> PathBuf {
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1];
    elf.resize(18, 0);
    elf.extend(0xB7u16.to_le_bytes());
    elf.resize(len, 0);
    let zip = dir.join(name);
    std::fs::write(&zip, infra::deploy::package::zip_bootstrap(&elf).unwrap()).unwrap();
    zip
}

/// Where the file does not allow hotswaps, `deploy --hotswap` and `watch` are refused before
/// any AWS call (the endpoint here answers nothing).
fn hotswaps_are_refused_unless_allowed(env: &Env) {
    env.edit("allow_hotswap: true", "allow_hotswap: false");
    for args in [&["deploy", "dev", "--hotswap"][..], &["watch", "dev"]] {
        let out = env.command(args).env("AWS_ENDPOINT_URL", "http://127.0.0.1:9").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("dev.yaml:deploy.allow_hotswap (line ") && err.contains("is refused"), "{err}");
        assert!(!err.contains("building") && !err.contains("GetCallerIdentity"), "{err}");
    }
    env.edit("allow_hotswap: false", "allow_hotswap: true");
}

/// `diff --out` keeps the change sets it shows; `deploy --from-plan` executes exactly those, and
/// refuses the whole plan, executing nothing, once anything moved.
#[test]
fn saved_plans_run_exactly_what_was_reviewed() {
    let prefix = unique("p");
    let env = Env::new(&prefix);
    let plan = env.dir.path().join("plan.json");
    let plan_arg = plan.to_str().unwrap().to_owned();
    let zip = env.zip.to_str().unwrap().to_owned();
    assert_eq!(env.run(&["bootstrap", "dev", "--yes"]).0, 0);
    an_artifact_key_holding_other_bytes_is_refused(&env, &prefix);
    assert_eq!(env.deploy(&["--yes"]).0, 0);

    // The plan shows and keeps the change; applying it executes that change set.
    env.edit("memory_mb: 256", "memory_mb: 512");
    let md = env.dir.path().join("plan.md");
    let md_arg = md.to_str().unwrap();
    let (code, _, err) = env.run(&["diff", "dev", "--function-zip", &zip, "--out", &plan_arg, "--summary", md_arg]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("~   TokenFunction (AWS::Lambda::Function)"), "{err}");
    let md = std::fs::read_to_string(md).unwrap();
    assert!(md.starts_with("### Plan for `dev` (account "), "{md}");
    assert!(md.contains("#### IAM, key and security changes\n\nNone.\n\n#### Replacements\n\nNone."), "{md}");
    assert!(md.contains("service: 0 to add, 1 to change, 0 to replace, 0 to remove</summary>"), "{md}");
    assert!(err.contains("wrote the plan") && err.contains("(1 change set(s); it executes exactly these)"), "{err}");
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(saved["environment"], "dev");
    let key = saved["artifact_key"].as_str().unwrap();
    assert!(key.starts_with(&format!("{}/", infra::stacks::bootstrap::ARTIFACT_PREFIX)), "{saved}");
    let apply = ["deploy", "dev", "--from-plan", &plan_arg, "--function-zip", &zip, "--yes", "--no-smoke-check"];
    plans_from_elsewhere_are_checked_against_this_checkout(&env, &plan);
    let (code, _, err) = env.run(&apply);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("-dev-service: UPDATE_COMPLETE"), "{err}");
    assert!(!err.contains("building bootstrap"), "{err}");

    // The same plan again: its change set was executed. (LocalStack keeps the stack's
    // LastUpdatedTime on an executed change set; `PlannedStack::moved` and
    // `stack::last_updated` are tested apart.)
    let (code, _, err) = env.run(&apply);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("was not deployed, nothing executed"), "{err}");
    assert!(
        err.contains("its change set is CREATE_COMPLETE and EXECUTE_COMPLETE, not CREATE_COMPLETE and AVAILABLE")
            || err.contains("its change set no longer exists"),
        "{err}"
    );
    assert_eq!(err.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{err}");

    // A plan whose environment file changed afterwards executes nothing.
    env.edit("memory_mb: 512", "memory_mb: 1024");
    assert_eq!(env.run(&["diff", "dev", "--function-zip", &zip, "--out", &plan_arg]).0, 2);
    env.edit("log_level: debug", "log_level: info");
    let (code, _, err) = env.run(&apply);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("environment_file_sha256:") && err.contains("template_sha256:"), "{err}");
    env.edit("log_level: info", "log_level: debug");

    // One made too long ago executes nothing either.
    let text = std::fs::read_to_string(&plan).unwrap();
    let old = serde_json::from_str::<serde_json::Value>(&text).unwrap()["made_at"].as_u64().unwrap();
    std::fs::write(&plan, text.replace(&format!("\"made_at\": {old}"), &format!("\"made_at\": {}", old - 25 * 3600)))
        .unwrap();
    let (code, _, err) = env.run(&apply);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("made_at: the plan is 25 hours old; dev allows 24 (deploy.plan_max_age_hours)"), "{err}");

    // Nothing of the refused plans ran: the function still has the first plan's memory.
    let (_, out, _) = env.run(&["status", "dev"]);
    assert!(out.contains("-dev-service: UPDATE_COMPLETE"), "{out}");
    boto(&format!(
        "assert client('lambda').get_function_configuration(FunctionName='{prefix}-dev-token')['MemorySize'] == 512"
    ));

    plans_refused_before_anything_runs(&env, &plan);
    assert_eq!(env.run(&["destroy", "dev", "--yes", "--force"]).0, 0);
}

/// An object put under an artifact's key by someone else (a pull request's plan role may
/// create objects) is not taken for the artifact: the deploy stops before any change set.
fn an_artifact_key_holding_other_bytes_is_refused(env: &Env, prefix: &str) {
    let zip = env.zip.to_str().unwrap();
    boto(&format!(
        "import hashlib\ncfn = client('cloudformation')\n\
         outs = cfn.describe_stacks(StackName='{prefix}-dev-bootstrap')['Stacks'][0]['Outputs']\n\
         bucket = [o['OutputValue'] for o in outs if o['OutputKey'] == '{}'][0]\n\
         key = 'token-function/' + hashlib.sha256(open('{zip}', 'rb').read()).hexdigest() + '.zip'\n\
         client('s3').put_object(Bucket=bucket, Key=key, Body=b'not the function')",
        infra::stacks::outputs::bootstrap::BUCKET
    ));
    let (code, _, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("holds other bytes (SHA-256 ") && err.contains("nothing was deployed. Delete it"), "{err}");
    assert!(!err.contains("service: CREATE"), "{err}");
    boto(&format!(
        "cfn = client('cloudformation')\n\
         outs = cfn.describe_stacks(StackName='{prefix}-dev-bootstrap')['Stacks'][0]['Outputs']\n\
         bucket = [o['OutputValue'] for o in outs if o['OutputKey'] == '{}'][0]\n\
         s3 = client('s3')\n\
         [s3.delete_object(Bucket=bucket, Key=o['Key']) for o in s3.list_objects_v2(Bucket=bucket).get('Contents', [])]",
        infra::stacks::outputs::bootstrap::BUCKET
    ));
}

/// A plan says which change sets to run, and nothing else is taken from it: a plan made with
/// other code, or naming a change set made with other parameters (as a pull request's job
/// could), executes nothing.
fn plans_from_elsewhere_are_checked_against_this_checkout(env: &Env, plan: &Path) {
    let plan_arg = plan.to_str().unwrap().to_owned();
    let (other, text) = (other_zip(env), std::fs::read_to_string(plan).unwrap());
    let (code, _, err) = env.run(&["deploy", "dev", "--from-plan", &plan_arg, "--function-zip", &other, "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("nothing executed") && err.contains("artifact_key: the plan deploys token-function/"),
        "{err}"
    );
    assert!(err.contains("parameters: ArtifactKey is `token-function/"), "{err}");
    assert!(!err.contains("function: uploaded"), "{err}");

    // A change set of the same stack made by hand with another signing-key stage, put in the
    // plan: its template is the one synthesized here, its parameters are not.
    let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
    let service = &saved["stacks"].as_array().unwrap().iter().find(|s| s["id"] == "service").unwrap().clone();
    let (stack, ours) = (service["name"].as_str().unwrap(), service["change_set"].as_str().unwrap());
    let forged = env.dir.path().join("forged-change-set");
    boto(&format!(
        "import json\ncfn = client('cloudformation')\n\
         d = cfn.describe_change_set(ChangeSetName='{ours}', StackName='{stack}')\n\
         body = cfn.get_template(StackName='{stack}', ChangeSetName='{ours}')['TemplateBody']\n\
         body = body if isinstance(body, str) else json.dumps(body)\n\
         keep = lambda p: dict(ParameterKey=p['ParameterKey'], UsePreviousValue=True) if 'ParameterValue' not in p else dict(ParameterKey=p['ParameterKey'], ParameterValue=p['ParameterValue'])\n\
         ps = [dict(ParameterKey=p['ParameterKey'], ParameterValue='b') if p['ParameterKey'] == 'SigningKeyStage' else keep(p) for p in d['Parameters']]\n\
         arn = cfn.create_change_set(StackName='{stack}', ChangeSetName='forged', TemplateBody=body, Parameters=ps, Capabilities=d.get('Capabilities', []), Tags=d.get('Tags', []))['Id']\n\
         cfn.get_waiter('change_set_create_complete').wait(ChangeSetName=arn, StackName='{stack}')\n\
         open('{}', 'w').write(arn)",
        forged.display()
    ));
    let arn = std::fs::read_to_string(&forged).unwrap();
    std::fs::write(plan, text.replace(ours, &arn)).unwrap();
    let zip = env.zip.to_str().unwrap();
    let (code, _, err) = env.run(&["deploy", "dev", "--from-plan", &plan_arg, "--function-zip", zip, "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("parameters: SigningKeyStage is `b` in its change set; this checkout passes `a`"), "{err}");
    boto(&format!("client('cloudformation').delete_change_set(ChangeSetName='{arn}', StackName='{stack}')"));

    // The plan file edited to do less than this checkout says: keep the deployed code where
    // this checkout builds other code, leave a changing stack out, run the stacks in another
    // order.
    let edited = |edit: &dyn Fn(&mut serde_json::Value), zip: &str, want: &str| {
        let mut v = saved.clone();
        edit(&mut v);
        std::fs::write(plan, serde_json::to_string(&v).unwrap()).unwrap();
        let (code, _, err) = env.run(&["deploy", "dev", "--from-plan", &plan_arg, "--function-zip", zip, "--yes"]);
        assert_eq!(code, 1, "{want}: {err}");
        assert!(err.contains("nothing executed") && err.contains(want), "{want}: {err}");
    };
    let service_at = saved["stacks"].as_array().unwrap().iter().position(|s| s["id"] == "service").unwrap();
    let keeps = "artifact_key: the plan keeps the deployed code (token-function/";
    edited(&|v| v["artifact_key"] = serde_json::Value::Null, &other, keeps);
    let left_out = format!("{stack}: the template changes (resources TokenFunction)");
    edited(&|v| v["stacks"][service_at]["change_set"] = serde_json::Value::Null, zip, &left_out);
    let by_name = ours.split('/').nth(1).unwrap().to_owned();
    let named = format!("{stack}: the plan names its change set `{by_name}`, not by its ARN");
    edited(&|v| v["stacks"][service_at]["change_set"] = by_name.clone().into(), zip, &named);
    let order = "stacks: the plan runs monitoring, service; they deploy as service, monitoring";
    edited(&|v| v["stacks"].as_array_mut().unwrap().reverse(), zip, order);
    std::fs::write(plan, text).unwrap();
}

/// Refused before anything runs: a plan for another environment, no terminal to answer the
/// prompt, an output path that cannot take the file; a file that is not a plan, or of another
/// format, is one line naming it.
fn plans_refused_before_anything_runs(env: &Env, plan: &Path) {
    let plan_arg = plan.to_str().unwrap().to_owned();
    let zip = env.zip.to_str().unwrap().to_owned();
    let apply = ["deploy", "dev", "--from-plan", &plan_arg, "--function-zip", &zip, "--yes", "--no-smoke-check"];
    let (code, _, err) = env.run(&["deploy", "staging", "--from-plan", &plan_arg, "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("environment: the plan is for `dev`, not `staging`"), "{err}");
    let (code, _, err) = env.run(&["deploy", "dev", "--from-plan", &plan_arg]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("refusing to prompt without a terminal; pass --yes (nothing was checked or executed)"),
        "{err}"
    );
    let folder = env.dir.path().to_str().unwrap();
    let (code, _, err) = env.run(&["diff", "dev", "--function-zip", &zip, "--out", folder]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is a folder; give a file name") && !err.contains("function:"), "{err}");
    let (code, _, err) = env.run(&["diff", "dev", "--function-zip", &zip, "--out", &plan_arg, "--summary", &plan_arg]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is the plan's own file (--out); give another") && !err.contains("function:"), "{err}");
    std::fs::write(plan, "{\"format\": 99}").unwrap();
    let (code, _, err) = env.run(&apply);
    assert_eq!(code, 1, "{err}");
    let format = infra::deploy::saved_plan::FORMAT;
    assert!(err.contains(&format!("format: plan format 99 is not this infra's ({format})")), "{err}");
    std::fs::write(plan, "{}").unwrap();
    let (code, _, err) = env.run(&apply);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a plan `infra diff --out` wrote: missing field `format`"), "{err}");
}

#[test]
fn failed_first_create_is_replaced_on_request() {
    let prefix = unique("f");
    let env = Env::new(&prefix);
    assert_eq!(env.run(&["bootstrap", "dev", "--yes"]).0, 0);
    let secret = format!("{prefix}-dev/client-registry");
    boto(&format!("client('secretsmanager').create_secret(Name='{secret}', SecretString='taken')"));

    let (code, _, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("root cause: ClientRegistrySecret (AWS::SecretsManager::Secret) CREATE_FAILED"), "{err}");
    assert!(err.contains("--replace-failed"), "{err}");

    // Without the flag the failed stack is refused with the way out; `diff` (exit 2 means
    // changes) calls it an error, exit 1.
    let target = format!("dev --environments {}", env.dir.path().display());
    for (args, (code, _, err)) in [("deploy", env.deploy(&["--yes"])), ("diff", env.diff())] {
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("its first create failed;") && err.contains("--replace-failed`"), "{args:?}: {err}");
        assert!(err.contains(&target), "{err}");
    }

    boto(&format!("client('secretsmanager').delete_secret(SecretId='{secret}', ForceDeleteWithoutRecovery=True)"));
    let (code, _, err) = env.deploy(&["--yes", "--replace-failed"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("deleting the failed first create"), "{err}");
    assert!(err.contains(&format!("{prefix}-dev-service: CREATE_COMPLETE")), "{err}");
    assert_eq!(env.run(&["destroy", "dev", "--yes", "--force"]).0, 0);
}

/// LocalStack answers account 000000000000 to everyone: as a loopback emulator it stands in for
/// the file's account, and says so (the guard itself is tested on recorded answers in
/// `deploy_faults.rs`).
#[test]
fn the_emulator_stands_in_for_the_file_s_account() {
    let env = Env::new(&unique("a"));
    env.edit("account_id: \"000000000000\"", "account_id: \"111111111111\"");
    let (code, _, err) = env.run(&["status", "dev"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "is a local emulator; its account 000000000000 stands in for the account_id of environment `dev` (111111111111)"
        ),
        "{err}"
    );
}

/// Ctrl-C while watching stops the watch, not the operation, and says how to resume.
#[test]
fn interrupting_the_watch_leaves_the_operation_running() {
    use std::io::{BufRead, BufReader};
    let prefix = unique("i");
    let env = Env::new(&prefix);
    assert_eq!(env.run(&["bootstrap", "dev", "--yes"]).0, 0);
    let mut child = Command::new(env!("CARGO_BIN_EXE_infra"))
        .arg("--environments")
        .arg(env.dir.path())
        .args(["deploy", "dev", "--yes", "--no-smoke-check", "--function-zip", env.zip.to_str().unwrap()])
        .current_dir(workspace())
        .env("AWS_ENDPOINT_URL", localstack())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("INFRA_POLL_MS", "4000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    // The plan is printed just before the change set is executed and watched.
    assert!(lines.by_ref().any(|l| l.contains("-dev-service: ") && l.contains("to add")));
    std::thread::sleep(std::time::Duration::from_millis(1000));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let rest: Vec<String> = lines.collect();
    let status = child.wait().unwrap();
    let text = rest.join("\n");
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("stopped watching `{prefix}-dev-service`; its operation goes on")), "{text}");
    let target = format!("dev --environments {}", env.dir.path().display());
    assert!(text.contains(&format!("cargo run -- status {target} --watch")), "{text}");
    // The create went on without us.
    let (code, out, _) = env.run(&["status", "dev", "--watch"]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("{prefix}-dev-service: CREATE_COMPLETE")), "{out}");
    assert_eq!(env.run(&["destroy", "dev", "--yes", "--force"]).0, 0);
}

/// An endpoint that accepts connections but never answers, and one that refuses them: each call
/// gives up within its time limit, in one line naming the call, and nothing hangs.
#[test]
fn dead_endpoints_fail_in_one_line() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let refused_url = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    for url in [silent_url, refused_url] {
        let started = std::time::Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_infra"))
            .args(["status", "dev"])
            .current_dir(workspace())
            .env("AWS_ENDPOINT_URL", &url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("INFRA_AWS_TIMEOUT_MS", "800")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{url}: took {:?}", started.elapsed());
        assert_eq!(err.trim_end().lines().count(), 1, "{url}: {err}");
        assert!(err.contains("GetCallerIdentity") && err.contains(&url), "{url}: {err}");
        assert!(!err.contains("Error(") && !err.contains(" { ") && !err.contains("panicked"), "{url}: {err}");
    }
    drop(silent);
}

/// Missing credentials are one line saying what to do, not the provider chain's dump.
#[test]
fn missing_credentials_are_one_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_infra"))
        .args(["status", "dev"])
        .current_dir(workspace())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", localstack())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("AWS credentials are missing or expired") && err.contains("aws sso login"), "{err}");
}

/// `infra clients` on a deployed registry: eight writers at once and a writer whose read went
/// stale lose no entry (each write is a compare-and-swap on the secret's AWSCURRENT label); a
/// hand-edited registry the function would refuse is refused in one line and left as it was.
#[test]
fn clients_stale_writers_lose_nothing() {
    let prefix = unique("r");
    let env = Env::new(&prefix);
    let extra: String = (0..8).map(|i| format!("    - id: team-{i}\n      allowed_scopes: [orders:read]\n")).collect();
    env.edit("  clients:\n", &format!("  clients:\n{extra}"));
    assert_eq!(env.run(&["bootstrap", "dev", "--yes"]).0, 0);
    let (code, _, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 0, "{err}");
    eight_writers_at_once_lose_nothing(&env);
    unregistered_clients_are_reported(&env);
    let secret = format!("{prefix}-dev/client-registry");
    the_stale_writer_is_refused(&env, &secret);
    a_refused_registry_is_left_as_it_was(&env, &secret);
    assert_eq!(env.run(&["destroy", "dev", "--yes", "--force"]).0, 0);
}

/// One client added with its secret printed, then eight added at once: all nine are registered.
fn eight_writers_at_once_lose_nothing(env: &Env) {
    let (code, out, err) = env.run(&["clients", "dev", "add", "dev-test-client", "--json"]);
    assert_eq!(code, 0, "{err}");
    let printed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed["client_secret"].as_str().map(str::len), Some(64), "{printed}");
    let writers: Vec<_> = (0..8)
        .map(|i| {
            env.command(&["clients", "dev", "add", &format!("team-{i}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for w in writers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (_, out, err) = env.run(&["clients", "dev", "list", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out}{err}"));
    let registered = rows.iter().filter(|r| r["standing"] == "registered").count();
    assert_eq!(registered, 9, "dev-test-client and the eight teams: {out}");
}

/// `status` and `diff` name a client of the file that the deployed registry lacks.
fn unregistered_clients_are_reported(env: &Env) {
    for (args, (_, out, err)) in [("status", env.run(&["status", "dev"])), ("diff", env.diff())] {
        assert!(
            format!("{out}{err}")
                .contains("client inventory-service: not registered: gets no token (`cargo run -- clients dev"),
            "{args:?}: {out}{err}"
        );
    }
}

/// Of two writers of one read the first wins and the stale one changes nothing; `update` reads again.
fn the_stale_writer_is_refused(env: &Env, secret: &str) {
    use infra::clients::Change;
    use infra::deploy::registry::RegistrySecret;

    let file = infra::env::Environment::load_named(env.dir.path(), "dev").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(localstack())
            .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        let store = RegistrySecret::new(aws_sdk_secretsmanager::Client::new(&config), secret);
        let (a, b) = (store.read().await.unwrap(), store.read().await.unwrap());
        let (mut doc_a, mut doc_b) = (a.doc.clone(), b.doc.clone());
        Change::Add("inventory-service").apply(&file, &mut doc_b, 1).unwrap();
        Change::Remove("dev-test-client").apply(&file, &mut doc_a, 1).unwrap();
        assert!(store.write(&b, &doc_b).await.unwrap(), "the first writer wins");
        assert!(!store.write(&a, &doc_a).await.unwrap(), "the stale writer is refused");
        let now = store.read().await.unwrap().doc;
        assert_eq!(now, doc_b, "the refused write changed nothing");
        // `update` reads again and applies its change on top.
        store.update(|doc| Change::Remove("dev-test-client").apply(&file, doc, 1)).await.unwrap();
        let ids: Vec<String> = store.read().await.unwrap().doc.clients.into_iter().map(|c| c.client_id).collect();
        assert!(
            ids.contains(&"inventory-service".to_owned()) && !ids.contains(&"dev-test-client".to_owned()),
            "{ids:?}"
        );
        assert_eq!(ids.len(), 9, "{ids:?}");
    });
}

/// A hand-edited registry the function would refuse is refused in one line and left as it was.
fn a_refused_registry_is_left_as_it_was(env: &Env, secret: &str) {
    let edited = r#"{"clients":[{"client_id":"x","secrets":[],"allowed_scopes":["a"],"default_scopes":["b"]}]}"#;
    boto(&format!("client('secretsmanager').put_secret_value(SecretId='{secret}', SecretString='{edited}')"));
    for args in [&["clients", "dev", "add", "dev-test-client"][..], &["clients", "dev", "list"]] {
        let (code, _, err) = env.run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        let error: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(error.len(), 1, "{err}");
        assert!(
            error[0].contains("is not a client registry the function accepts")
                && error[0].contains("--move-to-version-id "),
            "{err}"
        );
    }
    boto(&format!(
        "assert client('secretsmanager').get_secret_value(SecretId='{secret}')['SecretString'] == '{edited}', 'rewritten'"
    ));
}

/// `infra logs` against the deployed log groups: both groups merged by time and rendered, the
/// filter and request-id narrowing, `--follow` printing an event written after it started and
/// stopping on Ctrl-C.
#[test]
fn logs_are_read_filtered_and_followed() {
    use std::io::{BufRead, BufReader};
    let prefix = unique("l");
    let env = Env::new(&prefix);
    assert_eq!(env.run(&["bootstrap", "dev", "--yes"]).0, 0);
    let (code, _, err) = env.deploy(&["--yes"]);
    assert_eq!(code, 0, "{err}");
    let function = format!("/aws/lambda/{prefix}-dev-token");
    let api = format!("/aws/apigateway/{prefix}-dev-api/access");
    let put = |group: &str, ms_ago: u64, message: &str| {
        boto(&format!(
            "import time, json\nc = client('logs')\ntry: c.create_log_stream(logGroupName='{group}', logStreamName='s')\nexcept c.exceptions.ResourceAlreadyExistsException: pass\nc.put_log_events(logGroupName='{group}', logStreamName='s', logEvents=[{{'timestamp': int(time.time()*1000) - {ms_ago}, 'message': json.dumps({message})}}])"
        ))
    };
    put(
        &function,
        3000,
        r#"{"level":"INFO","fields":{"message":"request","status":401,"outcome":"failed:invalid_client"},"span":{"requestId":"r-bad"}}"#,
    );
    put(
        &api,
        2000,
        r#"{"requestId":"a-1","httpMethod":"POST","resourcePath":"/oauth/token","status":"401","awsEndpointRequestId":"r-bad"}"#,
    );
    put(
        &function,
        1000,
        r#"{"level":"INFO","fields":{"message":"request","status":200,"outcome":"issued","client_id":"orders"},"span":{"requestId":"r-good"}}"#,
    );

    let (code, out, err) = env.run(&["logs", "dev", "--since", "1h"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].contains("function INFO  request=r-bad outcome=failed:invalid_client status=401 request"),
        "{out}"
    );
    assert!(lines[1].contains("api      POST /oauth/token 401 request=a-1 function_request=r-bad"), "{out}");
    assert!(lines[2].contains("client=orders outcome=issued"), "{out}");

    let (_, out, _) = env.run(&["logs", "dev", "--since", "1h", "--request-id", "r-bad"]);
    assert_eq!(out.lines().count(), 2, "the function's line and the API's access line: {out}");
    let (_, out, _) = env.run(&["logs", "dev", "--since", "1h", "--filter", "issued"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (_, out, _) = env.run(&["logs", "dev", "--since", "1s"]);
    assert_eq!(out, "", "events before --since are left out");

    let mut follow = env.command(&["logs", "dev", "--since", "1s", "--follow"]).stdout(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    put(&function, 0, r#"{"level":"WARN","fields":{"message":"late"},"span":{"requestId":"r-late"}}"#);
    let mut reader = BufReader::new(follow.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("WARN  request=r-late late"), "{line}");
    assert!(Command::new("kill").args(["-INT", &follow.id().to_string()]).status().unwrap().success());
    assert!(follow.wait().unwrap().success(), "Ctrl-C ends --follow with exit 0");

    let (code, _, err) = env.run(&["logs", "dev", "--since", "nonsense"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(env.run(&["destroy", "dev", "--yes", "--force"]).0, 0);
}

/// The configuration `serve --lambda` and the smoke check run is the one the deployed API
/// invokes: an alias keeps serving the version it points at, whose configuration is frozen,
/// while `$LATEST` has moved on. Made here with Lambda's own calls (publish, alias, update).
#[test]
fn an_alias_serves_the_configuration_of_its_version() {
    let url = localstack();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let config = sdk_config(url).await;
        let lambda = aws_sdk_lambda::Client::new(&config);
        let name = format!("served-{}", std::process::id());
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file("bootstrap", zip::write::SimpleFileOptions::default().unix_permissions(0o755)).unwrap();
        std::io::Write::write_all(&mut zip, b"#!/bin/sh\n").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let bytes_sent = bytes.clone();
        let vars = |stage: &str| aws_sdk_lambda::types::Environment::builder().variables("SIGNING_SLOT", stage).build();
        lambda
            .create_function()
            .function_name(&name)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .handler("bootstrap")
            .role("arn:aws:iam::000000000000:role/served")
            .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(aws_smithy_types::Blob::new(bytes)).build())
            .environment(vars("a"))
            .timeout(7)
            .send()
            .await
            .unwrap();
        settle(&lambda, &name).await;
        let v1 = lambda.publish_version().function_name(&name).send().await.unwrap();
        let version = v1.version().unwrap().to_owned();
        lambda.create_alias().function_name(&name).name("live").function_version(&version).send().await.unwrap();
        lambda
            .update_function_configuration()
            .function_name(&name)
            .environment(vars("b"))
            .timeout(9)
            .send()
            .await
            .unwrap();
        settle(&lambda, &name).await;
        let live = infra::deploy::served::served(&lambda, &name, "live").await.unwrap();
        assert_eq!((live.version.as_str(), live.variables["SIGNING_SLOT"].as_str()), (version.as_str(), "a"));
        let latest = infra::deploy::served::served(&lambda, &name, "$LATEST").await.unwrap();
        assert_eq!(latest.variables["SIGNING_SLOT"], "b");
        // The version's other settings are frozen too, and the code is the one deployed.
        assert_eq!((live.timeout_seconds, latest.timeout_seconds), (Some(7), Some(9)));
        let zip_hex = infra::deploy::package::sha256_hex(&bytes_sent);
        assert_eq!(live.runs_code(&zip_hex), Some(true));
        let missing = infra::deploy::served::served(&lambda, &name, "canary").await.unwrap_err().to_string();
        assert_eq!(missing, format!("{name} has no alias `canary` in Lambda; deploy the environment first"));
        // The account's concurrency, as deploy reads it before a build (LocalStack answers
        // Lambda's default quota of 1,000).
        let fits = infra::deploy::quotas::check_concurrency(&lambda, &name, Some(10)).await;
        assert_eq!(fits, Ok(()));
        let too_many = infra::deploy::quotas::check_concurrency(&lambda, &name, Some(1000)).await.unwrap_err();
        assert!(too_many.contains("at most 900 can be reserved"), "{too_many}");
        lambda.delete_function().function_name(&name).send().await.unwrap();
    });
}

/// The drift check reads the version the API's alias serves as well as `$LATEST` (a canary's
/// alias keeps serving its version while `$LATEST` moves), and a hotswap refuses a function
/// behind an alias (DEPLOY004). Made here with Lambda's own calls (LocalStack deploys no
/// CodeDeploy).
#[test]
fn the_drift_check_reads_the_alias_s_version_too() {
    let url = localstack();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let aws = infra::deploy::Aws::from_config(&sdk_config(url).await);
        let name = format!("drifted-{}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (stub_zip(dir.path(), "old.zip", 64), stub_zip(dir.path(), "new.zip", 65));
        let (old, new) = (std::fs::read(old).unwrap(), std::fs::read(new).unwrap());
        let key = |zip: &[u8]| format!("token-function/{}.zip", infra::deploy::package::sha256_hex(zip));
        let code = |zip: &[u8]| {
            aws_sdk_lambda::types::FunctionCode::builder().zip_file(aws_smithy_types::Blob::new(zip.to_vec())).build()
        };
        aws.lambda
            .create_function()
            .function_name(&name)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .handler("bootstrap")
            .role("arn:aws:iam::000000000000:role/drifted")
            .code(code(&old))
            .send()
            .await
            .unwrap();
        settle(&aws.lambda, &name).await;
        let v1 = aws.lambda.publish_version().function_name(&name).send().await.unwrap().version().unwrap().to_owned();
        aws.lambda.create_alias().function_name(&name).name("live").function_version(&v1).send().await.unwrap();
        aws.lambda
            .update_function_code()
            .function_name(&name)
            .zip_file(aws_smithy_types::Blob::new(new.clone()))
            .send()
            .await
            .unwrap();
        settle(&aws.lambda, &name).await;
        let target = infra::deploy::hotswap::Target { function: name.clone(), alias: Some("live".into()) };
        let behind = infra::deploy::hotswap::code_drift(&aws, &target, &key(&new)).await.unwrap();
        assert_eq!(behind.len(), 1, "{behind:?}");
        assert!(
            behind[0].starts_with(&format!(
                "{name}:live runs code of SHA-256 {}, not",
                infra::deploy::package::sha256_hex(&old)
            )),
            "{behind:?}"
        );
        let ahead = infra::deploy::hotswap::code_drift(&aws, &target, &key(&old)).await.unwrap();
        assert!(ahead.len() == 1 && ahead[0].starts_with(&format!("{name}:$LATEST runs code")), "{ahead:?}");
        let sha = infra::deploy::package::sha256_hex(&new);
        let code = infra::deploy::hotswap::Code { bucket: "unused", key: "token-function/x.zip", sha256: &sha };
        let refused = infra::deploy::hotswap::swap(&aws, &target, code).await.unwrap_err().to_string();
        assert!(refused.contains("an alias CodeDeploy shifts (DEPLOY004)"), "{refused}");
        aws.lambda.delete_function().function_name(&name).send().await.unwrap();
    });
}

/// The SDK's configuration for LocalStack at `url`.
async fn sdk_config(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(url)
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "test"))
        .load()
        .await
}

/// Waits until the function's last update is no longer in progress.
async fn settle(lambda: &aws_sdk_lambda::Client, name: &str) {
    for _ in 0..60 {
        let c = lambda.get_function_configuration().function_name(name).send().await.unwrap();
        let pending = c.last_update_status().is_some_and(|s| s.as_str() == "InProgress")
            || c.state().is_some_and(|s| s.as_str() == "Pending");
        if !pending {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("{name} stayed in progress");
}
