//! Signing services as Pulp runs them: an administrator's script signs a file with a GPG key.
//! The script gets the file's path as its argument and the key's fingerprint in
//! `PULP_SIGNING_KEY_FINGERPRINT`, and prints JSON naming the file and its detached,
//! ASCII-armoured signature. A service is added only after it signed a test file with a
//! signature that its public key verifies (in a throwaway keyring), as Pulp checks it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::db::Db;
use crate::models::signing_service::{self, SigningService};
use crate::{CoreError, CoreResult};

/// How long a script (or gpg) may run.
const LIMIT: Duration = Duration::from_secs(60);
/// The most output read from one.
const MAX_OUTPUT: u64 = 1 << 20;

/// The file a script signed and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub file: PathBuf,
    pub signature: PathBuf,
}

fn failed(what: &str, why: impl std::fmt::Display) -> CoreError {
    CoreError::invalid(format!("{what}: {why}"))
}

/// Runs `cmd` for at most [`LIMIT`]; its output when it succeeds.
fn run(what: &str, mut cmd: Command) -> CoreResult<String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(what, e))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| failed(what, e))? {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(what, format!("still running after {LIMIT:?}")));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |r: Option<&mut dyn Read>| {
        let mut text = String::new();
        if let Some(r) = r {
            let _ = r.take(MAX_OUTPUT).read_to_string(&mut text);
        }
        text
    };
    let out = read(child.stdout.as_mut().map(|s| s as &mut dyn Read));
    let err = read(child.stderr.as_mut().map(|s| s as &mut dyn Read));
    if !status.success() {
        let said: String = err.trim().chars().take(500).collect();
        return Err(failed(what, format!("{status}: {said}")));
    }
    Ok(out)
}

fn gpg(home: Option<&Path>) -> Command {
    let mut cmd = Command::new("gpg");
    cmd.arg("--batch");
    if let Some(h) = home {
        cmd.arg("--homedir").arg(h);
    }
    cmd
}

/// The armoured public key of `key` in the keyring of `home` and its fingerprint.
fn public_key(key: &str, home: Option<&Path>) -> CoreResult<(String, String)> {
    if key.is_empty() || key.len() > 200 || key.starts_with('-') {
        return Err(CoreError::invalid(format!("'{key}' is not a key id.")));
    }
    let mut export = gpg(home);
    export.args(["--armor", "--export", key]);
    let armored = run("gpg --export", export)?;
    if !armored.contains("BEGIN PGP PUBLIC KEY BLOCK") {
        return Err(CoreError::invalid(format!(
            "No public key '{key}' in the keyring."
        )));
    }
    let mut list = gpg(home);
    list.args(["--with-colons", "--fingerprint", key]);
    let listing = run("gpg --fingerprint", list)?;
    let fingerprint = listing
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .and_then(|rest| rest.split(':').find(|f| !f.is_empty()))
        .ok_or_else(|| CoreError::invalid(format!("No fingerprint for key '{key}'.")))?;
    Ok((armored, fingerprint.to_string()))
}

/// Runs a service's `script` on `file`: what it says it signed, and where the signature is.
pub fn sign(
    script: &Path,
    fingerprint: &str,
    home: Option<&Path>,
    file: &Path,
) -> CoreResult<Signed> {
    let mut cmd = Command::new(script);
    cmd.arg(file)
        .env("PULP_SIGNING_KEY_FINGERPRINT", fingerprint);
    if let Some(h) = home {
        cmd.env("GNUPGHOME", h);
    }
    let out = run("the signing script", cmd)?;
    let said: serde_json::Value = serde_json::from_str(out.trim()).map_err(|e| {
        failed(
            "the signing script",
            format!("its output is not JSON ({e})"),
        )
    })?;
    let path = |k: &str| {
        said[k]
            .as_str()
            .map(PathBuf::from)
            .ok_or_else(|| failed("the signing script", format!("its output names no '{k}'")))
    };
    Ok(Signed {
        file: path("file")?,
        signature: path("signature")?,
    })
}

/// Checks that `signed.signature` is a detached signature of `signed.file` by `public_key`,
/// in a keyring of its own (the deployment's keyring does not count).
fn verify(public_key: &str, signed: &Signed, scratch: &Path) -> CoreResult<()> {
    let home = scratch.join("verify");
    std::fs::create_dir_all(&home).map_err(|e| failed("a scratch keyring", e))?;
    let key_file = scratch.join("public.asc");
    std::fs::write(&key_file, public_key).map_err(|e| failed("a scratch keyring", e))?;
    let mut import = gpg(Some(&home));
    import.arg("--import").arg(&key_file);
    run("gpg --import", import)?;
    let mut check = gpg(Some(&home));
    check
        .arg("--verify")
        .arg(&signed.signature)
        .arg(&signed.file);
    run("the signature does not verify", check).map(|_| ())
}

/// Adds the signing service `name`: `script` signs with `key` of the keyring in `home` (gpg's
/// default when `None`). It must sign a test file with a signature the key verifies first.
pub async fn add(
    db: &Db,
    name: &str,
    script: &Path,
    key: &str,
    home: Option<&Path>,
) -> CoreResult<SigningService> {
    CoreError::check_name(name)?;
    let script = std::fs::canonicalize(script)
        .map_err(|e| CoreError::invalid(format!("{}: {e}", script.display())))?;
    let (key_text, home) = (key.to_string(), home.map(Path::to_path_buf));
    let checked = {
        let script = script.clone();
        tokio::task::spawn_blocking(move || -> CoreResult<(String, String)> {
            let (public, fingerprint) = public_key(&key_text, home.as_deref())?;
            let scratch = std::env::temp_dir().join(format!("depot-signing-{}", crate::new_id()));
            std::fs::create_dir_all(&scratch).map_err(|e| failed("a scratch folder", e))?;
            let test_file = scratch.join("signing-test.txt");
            let outcome = std::fs::write(&test_file, b"Depot checks a new signing service.\n")
                .map_err(|e| failed("a scratch file", e))
                .and_then(|_| sign(&script, &fingerprint, home.as_deref(), &test_file))
                .and_then(|signed| verify(&public, &signed, &scratch));
            let _ = std::fs::remove_dir_all(&scratch);
            outcome.map(|_| (public, fingerprint))
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))??
    };
    let (public, fingerprint) = checked;
    let script = script.to_string_lossy();
    signing_service::create(db, name, &public, &fingerprint, &script).await
}
