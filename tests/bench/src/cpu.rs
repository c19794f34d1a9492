//! CPU time per thread group, from /proc: the caller-and-handler side versus the emulator.

use std::fs;

/// CPU seconds spent so far by this process's live threads, split by whether the thread's
/// name starts with `prefix`: (matching, others).
pub fn split_cpu_seconds(prefix: &str) -> (f64, f64) {
    let (mut matching, mut others) = (0.0, 0.0);
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return (f64::NAN, f64::NAN);
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let name = fs::read_to_string(dir.join("comm")).unwrap_or_default();
        let secs = fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| schedstat_seconds(&s))
            .or_else(|| {
                fs::read_to_string(dir.join("stat"))
                    .ok()
                    .and_then(|s| stat_seconds(&s))
            })
            .unwrap_or(0.0);
        if name.trim_end().starts_with(prefix) {
            matching += secs;
        } else {
            others += secs;
        }
    }
    (matching, others)
}

/// `schedstat`'s first field: nanoseconds on a CPU.
fn schedstat_seconds(text: &str) -> Option<f64> {
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// `stat`'s utime + stime (fields 14 and 15), in clock ticks of 1/100 s (Linux's USER_HZ).
fn stat_seconds(text: &str) -> Option<f64> {
    // The name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// A process's resident set (`VmRSS`) or peak (`VmHWM`) in KiB, from its `status` file.
pub fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
}

/// Resets this process's peak resident set so the next `VmHWM` covers only what follows.
pub fn reset_peak_rss() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// This process's `VmRSS` and `VmHWM` in KiB.
pub fn self_rss_and_peak_kib() -> (Option<u64>, Option<u64>) {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    (status_kib(&status, "VmRSS"), status_kib(&status, "VmHWM"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_gives_nanoseconds_on_cpu() {
        assert_eq!(schedstat_seconds("1500000000 20 30\n"), Some(1.5));
        assert_eq!(schedstat_seconds("garbage"), None);
    }

    #[test]
    fn stat_fields_are_counted_after_a_name_with_spaces_and_parentheses() {
        let line = "123 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(stat_seconds(line), Some(3.0));
    }

    #[test]
    fn status_values_are_read_in_kib() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(status_kib(status, "VmRSS"), Some(1024));
        assert_eq!(status_kib(status, "VmHWM"), Some(2048));
        assert_eq!(status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn this_process_has_cpu_time_and_a_resident_set() {
        let (_, others) = split_cpu_seconds("no-thread-has-this-name");
        assert!(others > 0.0);
        assert!(self_rss_and_peak_kib().0.unwrap_or(0) > 0);
    }
}
