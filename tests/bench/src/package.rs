//! Size of each function's zipped bootstrap, as `scripts/build-lambdas.sh` leaves it.

use std::path::Path;
use std::process::Command;

use crate::report::{Row, Target};

/// The ELF machine of the zip's `bootstrap`, read with `unzip -p`.
fn bootstrap_arch(zip: &Path) -> String {
    let Ok(out) = Command::new("unzip")
        .arg("-p")
        .arg(zip)
        .arg("bootstrap")
        .output()
    else {
        return "unknown architecture (no unzip)".into();
    };
    elf_machine(&out.stdout)
}

fn elf_machine(head: &[u8]) -> String {
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return "not an ELF bootstrap".into();
    }
    match u16::from_le_bytes([head[18], head[19]]) {
        0xB7 => "arm64".into(),
        0x3E => "x86_64".into(),
        other => format!("ELF machine {other:#x}"),
    }
}

pub fn package_sizes(root: &Path) -> Vec<Row> {
    let s = "package (cargo lambda build --release --arm64)";
    ["router", "verifier", "provisioner"]
        .into_iter()
        .map(|f| {
            let zip = root.join("target/lambda").join(f).join("bootstrap.zip");
            let row = Row::new(s, format!("{f} bootstrap.zip"), "MB").target(Target::at_most(6.0));
            match std::fs::metadata(&zip) {
                Ok(m) => row
                    .values(&[m.len() as f64 / 1e6])
                    .note(bootstrap_arch(&zip)),
                Err(_) => row.note(format!(
                    "not measured: {} is missing (bash scripts/build-lambdas.sh)",
                    zip.display()
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_elf_header_names_the_architecture() {
        let mut head = b"\x7fELF".to_vec();
        head.resize(20, 0);
        head[18] = 0xB7;
        assert_eq!(elf_machine(&head), "arm64");
        head[18] = 0x3E;
        assert_eq!(elf_machine(&head), "x86_64");
        assert_eq!(elf_machine(b"PK\x03\x04"), "not an ELF bootstrap");
    }

    #[test]
    fn a_missing_zip_is_reported_not_measured() {
        let rows = package_sizes(Path::new("/nonexistent"));
        assert_eq!(rows.len(), 3);
        assert!(
            rows.iter()
                .all(|r| r.value.is_none()
                    && r.note.as_deref().is_some_and(|n| n.contains("missing")))
        );
    }
}
