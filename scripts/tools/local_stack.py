"""The whole product on this machine, offline: one command, Ctrl-C stops everything.

Starts moto's CloudWatch Logs, the local Bedrock, and the three functions under
`cargo lambda watch`; provisions the example application inference profiles and invocation
logging through real CloudFormation Create events sent to the provisioner; writes the router's
and verifier's profile map; then prints the Function URL and a working curl.

`--verifier-mode` runs the verifier as the template's `VerifierMode` does: `schedule` sends it an
EventBridge scheduled event every 5 minutes; `stream` stands in for the subscription filter,
forwarding each new record of the log group to it as an `awslogs` batch within about a second;
`both` does both.

`--team-budget-usd N` shows spend and budgets live: the router then takes API keys
(`ROUTER_AUTH_MODE=NONE`, as the template's `RouterAuthType: NONE`) and serves one tenant,
`team-a`, with a key made for this run (printed once, kept in `.local/team-a.key`), a monthly
budget of N USD that is enforced, and example prices for the two local models, so a few calls
show the team's spend in USD and then the refusal it gets at its budget.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
STATE_DIR = REPO / ".local"

LOCAL_AWS_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_EC2_METADATA_DISABLED": "true",
}

EXAMPLE_PROFILES = [
    # (friendly model ID the router serves, CloudFormation logical ID, ModelSource)
    ("us.anthropic.claude-opus-5-5", "ClaudeProfile", "us.anthropic.claude-opus-5-5"),
    ("us.amazon.nova-2-lite-v1:0", "NovaProfile", "us.amazon.nova-2-lite-v1:0"),
]
UNMAPPED_MODELS = ["anthropic.claude-3-haiku-20240307-v1:0"]
LOG_GROUP = "/aws/bedrock/model-invocations/local"
# The template's SpendTable, on the same moto server as the log group.
SPEND_TABLE = "local-spend"
ACCOUNT = "123456789012"
SUBSCRIPTION_FILTER = "local-stack-verifier"
# A batch closes at this many events or bytes of messages, whichever comes first.
BATCH_EVENTS = 10_000
BATCH_BYTES = 1_048_576
SCAN_RATE_S = 300
# With --team-budget-usd: the tenant the run's API key belongs to, and example rates for the two
# local models (USD per million tokens; the built-in table has none for them). These are
# illustrative numbers for the walkthrough, not AWS's prices: price real models in your own
# `prices:` (README, "Spend and budgets").
TEAM = "team-a"
EXAMPLE_PRICES = [
    {"model": "anthropic.claude-opus-5-5", "input": 5.0, "output": 25.0, "cacheRead": 0.5, "cacheWrite": 6.25},
    {"model": "amazon.nova-2-lite-v1:0", "input": 0.3, "output": 2.5, "cacheRead": 0.075, "cacheWrite": 0.0},
]
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/local-stack/5b3c9c60-0000-11ef-9000-0a1b2c3d4e5f"


class StackError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[local-stack] {message}", flush=True)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{what} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise StackError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


class ResponseCollector:
    """Stands in for CloudFormation's pre-signed ResponseURL and keeps each PUT body."""

    def __init__(self) -> None:
        self.responses: dict[str, dict] = {}
        self.arrived = threading.Condition()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with collector.arrived:
                    collector.responses[self.path.strip("/")] = body
                    collector.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url_for(self, key: str) -> str:
        return f"http://127.0.0.1:{self.port}/{key}"

    def wait(self, key: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while key not in self.responses:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StackError(f"the provisioner sent no response for {key} within {timeout:.0f}s")
                self.arrived.wait(remaining)
            return self.responses[key]

    def close(self) -> None:
        self.server.shutdown()


def awslogs_payload(log_stream: str, events: list[dict], message_type: str = "DATA_MESSAGE") -> dict:
    """The payload CloudWatch Logs hands a subscribed Lambda: the subscription JSON, gzipped,
    base64 (with padding). `events` are FilterLogEvents' events (eventId, timestamp, message)."""
    data = {
        "messageType": message_type,
        "owner": ACCOUNT,
        "logGroup": LOG_GROUP,
        "logStream": log_stream,
        "subscriptionFilters": [SUBSCRIPTION_FILTER],
        "logEvents": [{"id": e["eventId"], "timestamp": e["timestamp"], "message": e["message"]} for e in events],
    }
    blob = gzip.compress(json.dumps(data, separators=(",", ":")).encode())
    return {"awslogs": {"data": base64.b64encode(blob).decode()}}


def subscription_batches(events: list[dict]) -> list[tuple[str, list[dict]]]:
    """Groups events per log stream (a subscription batch holds one stream's events), in order,
    closing a batch at BATCH_EVENTS events or BATCH_BYTES of messages."""
    batches: list[tuple[str, list[dict]]] = []
    open_batches: dict[str, tuple[list[dict], int]] = {}
    for event in events:
        stream = event.get("logStreamName", "")
        batch, size = open_batches.get(stream, ([], 0))
        if batch and (len(batch) >= BATCH_EVENTS or size + len(event["message"]) > BATCH_BYTES):
            batches.append((stream, batch))
            batch, size = [], 0
        batch.append(event)
        open_batches[stream] = (batch, size + len(event["message"]))
    batches.extend((stream, batch) for stream, (batch, _) in open_batches.items() if batch)
    return batches


class SubscriptionDelivery(threading.Thread):
    """Stands in for a CloudWatch Logs subscription filter on the invocation log group: polls
    moto's FilterLogEvents every `poll_s` and invokes the verifier with each new batch. A minute
    of overlap is read again each poll (late arrivals) and de-duplicated by event ID, as a real
    subscription delivers each event once."""

    OVERLAP_MS = 60_000

    def __init__(self, logs, invoke, stopping: threading.Event, poll_s: float = 1.0) -> None:
        super().__init__(daemon=True, name="subscription")
        self.logs = logs
        self.invoke = invoke
        self.stopping = stopping
        self.poll_s = poll_s
        self.watermark = int(time.time() * 1000)
        self.seen: dict[str, int] = {}
        self.journal = STATE_DIR / "stream.log"
        self.journal.write_text("")

    def new_events(self) -> list[dict]:
        events = []
        kwargs = {"logGroupName": LOG_GROUP, "startTime": max(0, self.watermark - self.OVERLAP_MS)}
        while True:
            page = self.logs.filter_log_events(**kwargs)
            for event in page.get("events", []):
                if event["eventId"] not in self.seen:
                    self.seen[event["eventId"]] = event["timestamp"]
                    events.append(event)
            if not page.get("nextToken") or not page.get("events"):
                break
            kwargs["nextToken"] = page["nextToken"]
        if events:
            self.watermark = max(self.watermark, max(e["timestamp"] for e in events))
        horizon = self.watermark - self.OVERLAP_MS
        self.seen = {k: ts for k, ts in self.seen.items() if ts >= horizon}
        return events

    def deliver(self, payload: dict) -> None:
        answer = self.invoke("verifier", payload)
        with open(self.journal, "a", encoding="utf-8") as journal:
            journal.write(json.dumps(answer) + "\n")
        if isinstance(answer, dict) and "records" in answer:
            counts = answer.get("counts", {})
            log(f"stream: {answer['records']} record(s) -> verifier: profiled {counts.get('profiled')}, "
                f"mapping misses {counts.get('mapping_miss')}, malformed {counts.get('malformed')}")
        else:
            log(f"stream: the verifier answered {json.dumps(answer)[:300]}")

    def run(self) -> None:
        # CloudWatch Logs checks a new subscription's destination with a control message.
        control = [{"eventId": "", "timestamp": self.watermark,
                    "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda."}]
        try:
            self.deliver(awslogs_payload("", control, message_type="CONTROL_MESSAGE"))
        except Exception as error:  # noqa: BLE001 (a delivery failure is logged, the poll goes on)
            log(f"stream: control message not delivered: {error}")
        while not self.stopping.wait(self.poll_s):
            try:
                for stream, batch in subscription_batches(self.new_events()):
                    self.deliver(awslogs_payload(stream, batch))
            except Exception as error:  # noqa: BLE001
                log(f"stream: delivery failed, retrying next poll: {error}")


class ScheduledScans(threading.Thread):
    """Stands in for the template's EventBridge schedule: a scheduled event every SCAN_RATE_S."""

    def __init__(self, invoke, stopping: threading.Event) -> None:
        super().__init__(daemon=True, name="schedule")
        self.invoke = invoke
        self.stopping = stopping

    def run(self) -> None:
        while not self.stopping.wait(SCAN_RATE_S):
            now = dt_now_z()
            event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                     "source": "aws.events", "account": ACCOUNT, "time": now, "region": "us-east-1",
                     "resources": ["arn:aws:events:us-east-1:123456789012:rule/local-stack-verifier"],
                     "detail": {}}
            try:
                report = self.invoke("verifier", event)
                log(f"schedule: scan of the 5 minutes before {now}: {json.dumps(report.get('counts'))}")
            except Exception as error:  # noqa: BLE001
                log(f"schedule: the scan failed: {error}")


def dt_now_z() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class LocalStack:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.collector: ResponseCollector | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(LOCAL_AWS_ENV)
        self.env["PATH"] = f"{VENV_BIN}{os.pathsep}{self.env.get('PATH', '')}"
        # A key for this run only: the configuration keeps its SHA-256, the file the key itself.
        self.team_key = f"local-{TEAM}-{secrets.token_urlsafe(24)}" if args.team_budget_usd else None

    # -- processes ------------------------------------------------------------------------------

    def spawn(self, what: str, argv: list[str], env: dict, logfile: Path) -> subprocess.Popen:
        handle = open(logfile, "w", encoding="utf-8")
        proc = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append((what, proc))
        return proc

    def stop(self) -> None:
        for what, proc in reversed(self.children):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for what, proc in reversed(self.children):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.children.clear()
        if self.collector:
            self.collector.close()
            self.collector = None

    # -- steps ----------------------------------------------------------------------------------

    def start_services(self) -> None:
        args = self.args
        for port, what in ((args.logs_port, "moto"), (args.bedrock_port, "emulator"), (args.lambda_port, "cargo lambda watch")):
            if not port_is_free(port):
                raise StackError(f"port {port} for {what} is in use; pick another with --help's options")
        STATE_DIR.mkdir(exist_ok=True)
        self.logs_url = f"http://127.0.0.1:{args.logs_port}"
        self.bedrock_url = f"http://127.0.0.1:{args.bedrock_port}"
        self.lambda_url = f"http://127.0.0.1:{args.lambda_port}"

        moto = self.spawn("moto", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(args.logs_port)],
                          self.env, STATE_DIR / "moto.log")
        wait_for_port(args.logs_port, moto, "moto", 30)
        log(f"CloudWatch Logs (moto)  {self.logs_url}")

        emulator_bin = REPO / "target" / "debug" / "bedrock-emulator"
        emulator = self.spawn(
            "emulator",
            [str(emulator_bin), "--listen", f"127.0.0.1:{args.bedrock_port}", "--logs-endpoint", self.logs_url],
            self.env, STATE_DIR / "emulator.log")
        wait_for_port(args.bedrock_port, emulator, "the local Bedrock", 30)
        log(f"Bedrock (emulator)      {self.bedrock_url}")

        self.collector = ResponseCollector()
        watch_env = dict(self.env)
        watch_env.update({
            "AWS_ENDPOINT_URL_BEDROCK": self.bedrock_url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.bedrock_url,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": self.logs_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.logs_url,
            "SPEND_TABLE_NAME": SPEND_TABLE,
            "PROFILES_CONFIG_FILE": str(STATE_DIR / "profiles.yaml"),
            "INVOCATION_LOG_GROUP": LOG_GROUP,
            "INGESTION_DELAY_SECONDS": "0",
            "SCAN_RATE_MINUTES": "5",
            "RUST_LOG": os.environ.get("RUST_LOG", "info"),
        })
        if self.team_key:
            watch_env["ROUTER_AUTH_MODE"] = "NONE"
            key_file = STATE_DIR / f"{TEAM}.key"
            key_file.write_text(self.team_key + "\n")
            key_file.chmod(0o600)
        self.watch_env = watch_env
        # The profile map is written before the router's first (cold) start reads it.
        self.write_profile_map({})
        watch = self.spawn(
            "cargo lambda watch",
            [str(VENV_BIN / "cargo-lambda"), "lambda", "watch", "--invoke-address", "127.0.0.1",
             "--invoke-port", str(args.lambda_port), "--timeout", "300", "--ignore-changes"],
            watch_env, STATE_DIR / "lambda-watch.log")
        wait_for_port(args.lambda_port, watch, "cargo lambda watch", 120)
        log(f"Lambda functions        {self.lambda_url} (log: .local/lambda-watch.log)")

    def invoke(self, function: str, event: dict, timeout: float) -> str:
        """Sends one event through `cargo lambda invoke` (the first call compiles the function)."""
        result = subprocess.run(
            [str(VENV_BIN / "cargo-lambda"), "lambda", "invoke", function, "--invoke-address", "127.0.0.1",
             "--invoke-port", str(self.args.lambda_port), "--data-ascii", json.dumps(event)],
            env=self.env, cwd=REPO, capture_output=True, text=True, timeout=timeout,
        )
        if result.returncode != 0:
            raise StackError(f"cargo lambda invoke {function} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def create_event(self, logical_id: str, resource_type: str, properties: dict) -> tuple[str, dict]:
        request_id = str(uuid.uuid4())
        key = f"{logical_id}-{request_id}"
        assert self.collector is not None
        return key, {
            "RequestType": "Create",
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provisioner",
            "ResponseURL": self.collector.url_for(key),
            "StackId": STACK_ID,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": {
                "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provisioner",
                "ServiceTimeout": "300",
                **properties,
            },
        }

    def aws_client(self, service: str):
        import boto3  # the venv's; imported here so `--help` works without it

        return boto3.client(service, endpoint_url=self.logs_url, region_name=LOCAL_AWS_ENV["AWS_REGION"],
                            aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"])

    def create_spend_table(self) -> None:
        """The spend table with the template's keys and TTL (`SpendTable`), before the router's
        first answer writes to it."""
        dynamodb = self.aws_client("dynamodb")
        try:
            dynamodb.create_table(
                TableName=SPEND_TABLE, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                      {"AttributeName": "sk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "sk", "KeyType": "RANGE"}])
        except dynamodb.exceptions.ResourceInUseException:
            pass
        dynamodb.update_time_to_live(TableName=SPEND_TABLE, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "expiresAt"})
        log(f"spend table {SPEND_TABLE} (TTL on expiresAt)")

    def logs_client(self):
        return self.aws_client("logs")

    def invoke_direct(self, function: str, event: dict, timeout: float = 300) -> dict:
        """One invocation through the local runtime's Invoke API (what `cargo lambda invoke`
        calls), without a process per event."""
        request = urllib.request.Request(
            f"{self.lambda_url}/2015-03-31/functions/{function}/invocations",
            data=json.dumps(event).encode(), headers={"content-type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def start_verifier_triggers(self, stopping: threading.Event) -> None:
        mode = self.args.verifier_mode
        if mode in ("stream", "both"):
            SubscriptionDelivery(self.logs_client(), self.invoke_direct, stopping).start()
            log("verifier: stream (each new record reaches it within about a second; .local/stream.log)")
        if mode in ("schedule", "both"):
            ScheduledScans(self.invoke_direct, stopping).start()
            log(f"verifier: scheduled scan every {SCAN_RATE_S // 60} minutes")

    def create_log_group(self) -> None:
        """The invocation log group, as the template's `InvocationLogGroup` makes it: it exists
        (with its retention) before logging is turned on, not only once the first record lands."""
        logs = self.logs_client()
        try:
            logs.create_log_group(logGroupName=LOG_GROUP)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        logs.put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=30)
        log(f"log group {LOG_GROUP} (30 days)")

    def provision(self) -> dict[str, str]:
        assert self.collector is not None
        profiles: dict[str, str] = {}
        for friendly, logical_id, source in EXAMPLE_PROFILES:
            key, event = self.create_event(logical_id, "Custom::BedrockInferenceProfile", {
                "ModelSource": source,
                "Description": f"{logical_id} for the local stack",
                "Tags": [{"Key": "stack", "Value": "local-stack"}],
            })
            self.invoke("provisioner", event, timeout=900)
            response = self.collector.wait(key, timeout=120)
            if response.get("Status") != "SUCCESS":
                raise StackError(f"creating {logical_id} failed: {response.get('Reason')}")
            profiles[friendly] = response["PhysicalResourceId"]
            log(f"profile {friendly} -> {profiles[friendly]}")

        self.create_log_group()
        self.create_spend_table()
        key, event = self.create_event("InvocationLogging", "Custom::BedrockInvocationLogging", {
            "LogGroupName": LOG_GROUP,
            "RoleArn": "arn:aws:iam::123456789012:role/bedrock-invocation-logging",
            "TextDataDeliveryEnabled": "true",
            "ReplaceExisting": "true",
        })
        self.invoke("provisioner", event, timeout=300)
        response = self.collector.wait(key, timeout=120)
        if response.get("Status") != "SUCCESS":
            raise StackError(f"enabling invocation logging failed: {response.get('Reason')}")
        log(f"invocation logging -> {LOG_GROUP}")
        return profiles

    def write_profile_map(self, profiles: dict[str, str]) -> None:
        models = [friendly for friendly, _, _ in EXAMPLE_PROFILES] + UNMAPPED_MODELS
        document = {
            "endpoints": {
                "bedrock": {
                    "models": models,
                    "inferenceProfiles": profiles,
                    "availableRegions": ["us-east-1"],
                    "allowedInferenceRegions": ["us-east-1", "us-east-2", "us-west-2"],
                }
            },
            # Product-only (LibreChat ignores it): the router caches long prompts of OpenAI callers.
            "promptCache": {"mode": "auto"},
        }
        if self.team_key:
            # Product-only keys too: one team with an enforced monthly budget, and example prices.
            document["tenants"] = {
                TEAM: {
                    "apiKeys": [hashlib.sha256(self.team_key.encode()).hexdigest()],
                    "budget": {"monthlyUsd": self.args.team_budget_usd, "alertAt": [50, 100], "enforce": True},
                }
            }
            document["prices"] = [dict(p, region="*") for p in EXAMPLE_PRICES]
        # JSON is YAML: LibreChat and the functions read this file alike.
        (STATE_DIR / "profiles.yaml").write_text(json.dumps(document, indent=2) + "\n")

    def warm_up(self) -> None:
        """Compiles and cold-starts the router once, so the first user request is quick."""
        deadline = time.monotonic() + 900
        url = f"{self.lambda_url}/lambda-url/router/health"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=600) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                time.sleep(1)
        raise StackError("the router did not answer /health")

    def start_tls_router(self) -> None:
        """Serves the router's Function URL over https too, with a certificate from a local CA
        made for this run: botocore sends a Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`) only
        over https. A second `cargo lambda watch` serves it, so the plain URL stays as it was;
        it starts after the warm-up, so the router is already built."""
        from local_tls import write_local_tls

        port = self.args.tls_port
        if not port_is_free(port):
            raise StackError(f"port {port} for the https router is in use; pick another with --tls-port")
        self.tls = write_local_tls(STATE_DIR / "tls")
        env = {k: v for k, v in self.watch_env.items() if k != "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"}
        watch = self.spawn(
            "cargo lambda watch (https)",
            [str(VENV_BIN / "cargo-lambda"), "lambda", "watch", "-p", "router", "--bin", "router",
             "--invoke-address", "127.0.0.1", "--invoke-port", str(port), "--timeout", "300",
             "--ignore-changes", "--tls-cert", self.tls["cert"], "--tls-key", self.tls["key"]],
            env, STATE_DIR / "lambda-watch-tls.log")
        wait_for_port(port, watch, "cargo lambda watch (https)", 120)
        self.router_https_url = f"https://127.0.0.1:{port}/lambda-url/router"
        log(f"Router over https       {self.router_https_url} (CA: {self.tls['ca']})")

    def announce(self) -> None:
        base = f"{self.lambda_url}/lambda-url/router"
        model = EXAMPLE_PROFILES[0][0]
        body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Say hello"}]})
        info = {
            "router_url": base,
            "bedrock_url": self.bedrock_url,
            "logs_url": self.logs_url,
            "lambda_url": self.lambda_url,
            "log_group": LOG_GROUP,
            "spend_table": SPEND_TABLE,
            "verifier_mode": self.args.verifier_mode,
            "router_https_url": self.router_https_url,
            "ca_file": self.tls["ca"],
            "team": TEAM if self.team_key else None,
            "team_key_file": str(STATE_DIR / f"{TEAM}.key") if self.team_key else None,
        }
        (STATE_DIR / "stack.json").write_text(json.dumps(info, indent=2) + "\n")
        print(flush=True)
        print(f"Router Function URL: {base}", flush=True)
        print("Try it:", flush=True)
        auth = ""
        if self.team_key:
            auth = f"-H \"authorization: Bearer $(cat .local/{TEAM}.key)\" "
            print(f"  ({TEAM}'s API key for this run, also in .local/{TEAM}.key: {self.team_key})", flush=True)
        print(f"  curl -s {base}/v1/chat/completions {auth}-H 'content-type: application/json' \\\n    -d '{body}'",
              flush=True)
        print(f"Over https (Bedrock SDKs, Claude Code): {self.router_https_url}", flush=True)
        print(f"  trust the local CA: export AWS_CA_BUNDLE={self.tls['ca']} NODE_EXTRA_CA_CERTS={self.tls['ca']}",
              flush=True)
        print("Check that the call went through the profile (the verifier over the last 10 minutes):", flush=True)
        print(f"  PATH=$PWD/.venv/bin:$PATH cargo lambda invoke verifier --invoke-address 127.0.0.1 "
              f"--invoke-port {self.args.lambda_port} \\\n"
              "    --data-ascii \"{\\\"start\\\":\\\"$(date -u -d '-10 min' +%FT%TZ)\\\",\\\"end\\\":\\\"$(date -u -d '+1 min' +%FT%TZ)\\\"}\"",
              flush=True)
        tenant = TEAM if self.team_key else "default"
        if self.team_key:
            print(f"See {TEAM}'s spend this month (costPicoUsd is 10^-12 USD); at its budget of "
                  f"${self.args.team_budget_usd} the next call gets HTTP 429 insufficient_quota:", flush=True)
        else:
            print("See the spend of this month (tenant `default` when the router takes no keys):", flush=True)
        print(f"  source scripts/aws-local-env.sh; .venv/bin/aws dynamodb get-item --endpoint-url {self.logs_url} --table-name {SPEND_TABLE} \\\n"
              f"    --key \"{{\\\"pk\\\":{{\\\"S\\\":\\\"tenant#{tenant}\\\"}},\\\"sk\\\":{{\\\"S\\\":\\\"month#$(date -u +%Y-%m)\\\"}}}}\"",
              flush=True)
        print("Ctrl-C stops everything.", flush=True)
        print("ready", flush=True)


def positive_usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of USD") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"a budget must be a positive number of USD, not {text}")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bedrock-port", type=int, default=4000)
    parser.add_argument("--logs-port", type=int, default=4010)
    parser.add_argument("--lambda-port", type=int, default=9000)
    parser.add_argument("--verifier-mode", choices=["schedule", "stream", "both"], default="schedule",
                        help="how the verifier is fed, as the template's VerifierMode (default: schedule)")
    parser.add_argument("--tls-port", type=int, default=9443,
                        help="the router's Function URL over https (for Bedrock API keys in the AWS SDKs)")
    parser.add_argument("--team-budget-usd", type=positive_usd, default=None, metavar="USD",
                        help="serve one team with an API key and this enforced monthly budget, to see spend and a "
                             "budget refusal live (the router then requires the key)")
    args = parser.parse_args()

    stack = LocalStack(args)
    stopping = threading.Event()

    def request_stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start_services()
        profiles = stack.provision()
        stack.write_profile_map(profiles)
        stack.warm_up()
        stack.start_verifier_triggers(stopping)
        stack.start_tls_router()
        stack.announce()
        while not stopping.is_set():
            for what, proc in stack.children:
                if proc.poll() is not None:
                    raise StackError(f"{what} stopped unexpectedly (exit {proc.returncode}); see .local/")
            stopping.wait(1)
        log("stopping")
        return 0
    except StackError as error:
        log(f"error: {error}")
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
