//! Invocation-log delivery to CloudWatch Logs (`--logs-endpoint`), through the real CloudWatch
//! Logs API: one worker task, fed in call order, creates the group and the
//! `aws/bedrock/modelinvocations` stream when missing, retries each record, and answers flush
//! requests only once everything queued before them is delivered.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use tokio::sync::{mpsc, oneshot};

pub const STREAM_NAME: &str = "aws/bedrock/modelinvocations";
const ATTEMPTS: u32 = 5;

enum Job {
    Record {
        region: String,
        group: String,
        message: String,
        timestamp_ms: i64,
    },
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
}

/// Delivery counts, as the flush admin route reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub queued: u64,
    pub delivered: u64,
    pub failed: u64,
}

#[derive(Default)]
pub struct Shipper {
    sender: OnceLock<mpsc::UnboundedSender<Job>>,
    counters: std::sync::Arc<Counters>,
}

impl Shipper {
    /// The worker starts on first use, inside the server's runtime.
    fn sender(&self, endpoint: &str) -> &mpsc::UnboundedSender<Job> {
        self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(worker(endpoint.to_string(), rx, self.counters.clone()));
            tx
        })
    }

    /// Queues one record; never blocks the call that produced it.
    pub fn send(
        &self,
        endpoint: &str,
        region: &str,
        group: &str,
        message: String,
        timestamp_ms: i64,
    ) {
        self.counters.queued.fetch_add(1, Ordering::SeqCst);
        let job = Job::Record {
            region: region.to_string(),
            group: group.to_string(),
            message,
            timestamp_ms,
        };
        if self.sender(endpoint).send(job).is_err() {
            self.counters.failed.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Waits until every record queued so far was delivered (or gave up).
    pub async fn flush(&self) -> Stats {
        if let Some(sender) = self.sender.get() {
            let (tx, rx) = oneshot::channel();
            if sender.send(Job::Flush(tx)).is_ok() {
                let _ = rx.await;
            }
        }
        self.stats()
    }

    pub fn stats(&self) -> Stats {
        Stats {
            queued: self.counters.queued.load(Ordering::SeqCst),
            delivered: self.counters.delivered.load(Ordering::SeqCst),
            failed: self.counters.failed.load(Ordering::SeqCst),
        }
    }
}

fn client(endpoint: &str, region: &str) -> Client {
    // Static dummy credentials: the emulator only ever talks to a local CloudWatch Logs.
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(
            "AKIDBEDROCKEMULATOR",
            "bedrock-emulator-secret",
            None,
            None,
            "bedrock-emulator",
        ))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

async fn ensure_stream(client: &Client, group: &str) -> Result<(), String> {
    match client.create_log_group().log_group_name(group).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
        Err(e) => {
            return Err(format!(
                "CreateLogGroup: {}",
                aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e)
            ));
        }
    }
    match client
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(STREAM_NAME)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(format!(
            "CreateLogStream: {}",
            aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e)
        )),
    }
}

async fn deliver(
    client: &Client,
    ready: &mut HashSet<(String, String)>,
    region: &str,
    group: &str,
    message: &str,
    timestamp_ms: i64,
) -> Result<(), String> {
    let key = (region.to_string(), group.to_string());
    if !ready.contains(&key) {
        ensure_stream(client, group).await?;
        ready.insert(key.clone());
    }
    let event = InputLogEvent::builder()
        .timestamp(timestamp_ms)
        .message(message)
        .build()
        .map_err(|e| e.to_string())?;
    match client
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(STREAM_NAME)
        .log_events(event)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            // The group may have been deleted behind our back: create it again next attempt.
            ready.remove(&key);
            Err(format!(
                "PutLogEvents: {}",
                aws_sdk_cloudwatchlogs::error::DisplayErrorContext(e)
            ))
        }
    }
}

async fn worker(
    endpoint: String,
    mut rx: mpsc::UnboundedReceiver<Job>,
    counters: std::sync::Arc<Counters>,
) {
    let mut clients: HashMap<String, Client> = HashMap::new();
    let mut ready = HashSet::new();
    while let Some(job) = rx.recv().await {
        match job {
            Job::Flush(done) => {
                let _ = done.send(());
            }
            Job::Record {
                region,
                group,
                message,
                timestamp_ms,
            } => {
                let client = clients
                    .entry(region.clone())
                    .or_insert_with(|| client(&endpoint, &region))
                    .clone();
                let mut last_error = String::new();
                let mut delivered = false;
                for attempt in 0..ATTEMPTS {
                    match deliver(&client, &mut ready, &region, &group, &message, timestamp_ms)
                        .await
                    {
                        Ok(()) => {
                            delivered = true;
                            break;
                        }
                        Err(e) => {
                            last_error = e;
                            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                        }
                    }
                }
                if delivered {
                    counters.delivered.fetch_add(1, Ordering::SeqCst);
                } else {
                    counters.failed.fetch_add(1, Ordering::SeqCst);
                    tracing::warn!(%region, %group, error = %last_error, "invocation log record not delivered");
                }
            }
        }
    }
}
