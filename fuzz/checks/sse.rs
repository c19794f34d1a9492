//! `sse`: the router's ConverseStream-event → OpenAI `chat.completion.chunk` SSE translation
//! (`router::dialect::openai::ChunkTranslator` + `router::sse`) and the native route's named events,
//! over an arbitrary sequence of events decoded from the input bytes.
//!
//! Input format (every byte string decodes to some sequence; see [`decode`]): byte 0 holds
//! `include_usage` in bit 0; then each event starts with an opcode byte (`% 8`):
//! 0 messageStart, 1 contentBlockStart (toolUse), 2 text delta, 3 toolUse delta,
//! 4 reasoning delta, 5 contentBlockStop, 6 messageStop, 7 metadata. Indexes are one byte,
//! strings are a length byte followed by that many bytes (lossy UTF-8), numbers are 2 bytes.
//!
//! Invariants: nothing panics; every frame is one `data: <json>` line plus a blank line whose
//! JSON is the chunk; every chunk names the stream's id, model and creation time; text and
//! tool arguments arrive unchanged; a tool-call index never points past the tools started;
//! finish reasons come only from `messageStop` and are OpenAI's; usage appears only when asked
//! for; native frames carry the event name and JSON that parses back to the same event.

use router::converse::{
    BlockStart, ContentBlockDelta, ContentBlockStart, ContentBlockStop, Delta, MessageStart,
    MessageStop, Metrics, ReasoningDelta, Role, StreamEvent, StreamMetadata, ToolUseDelta,
    ToolUseStart, Usage,
};
use router::dialect::openai::ChunkTranslator;
use router::sse;
use serde_json::Value;

const ID: &str = "chatcmpl-0123456789abcdef";
const MODEL: &str = "claude-sonnet";
const CREATED: i64 = 1_767_225_600;
const STOP_REASONS: [&str; 7] = [
    "end_turn",
    "tool_use",
    "max_tokens",
    "stop_sequence",
    "guardrail_intervened",
    "content_filtered",
    "model_context_window_exceeded",
];

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    fn number(&mut self) -> Option<u64> {
        Some((u64::from(self.byte()?) << 8) | u64::from(self.byte()?))
    }

    fn string(&mut self) -> Option<String> {
        let len = usize::from(self.byte()?).min(self.0.len());
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(String::from_utf8_lossy(text).into_owned())
    }
}

/// The stream an input describes: `include_usage` and the events (a truncated last event is
/// dropped).
pub fn decode(data: &[u8]) -> (bool, Vec<StreamEvent>) {
    let mut input = Bytes(data);
    let include_usage = input.byte().is_some_and(|b| b & 1 == 1);
    let mut events = Vec::new();
    while let Some(event) = next_event(&mut input) {
        events.push(event);
    }
    (include_usage, events)
}

fn next_event(input: &mut Bytes<'_>) -> Option<StreamEvent> {
    let event = match input.byte()? % 8 {
        0 => StreamEvent::MessageStart(MessageStart {
            role: if input.byte()? & 1 == 0 {
                Role::Assistant
            } else {
                Role::User
            },
        }),
        1 => StreamEvent::ContentBlockStart(ContentBlockStart {
            content_block_index: u32::from(input.byte()?),
            start: BlockStart::ToolUse(ToolUseStart {
                tool_use_id: input.string()?,
                name: input.string()?,
            }),
        }),
        2 => delta(input.byte()?, Delta::Text(input.string()?)),
        3 => delta(
            input.byte()?,
            Delta::ToolUse(ToolUseDelta {
                input: input.string()?,
            }),
        ),
        4 => {
            let index = input.byte()?;
            let kind = input.byte()?;
            let text = input.string()?;
            let reasoning = match kind % 3 {
                0 => ReasoningDelta::Text(text),
                1 => ReasoningDelta::Signature(text),
                _ => ReasoningDelta::RedactedContent(text),
            };
            delta(index, Delta::ReasoningContent(reasoning))
        }
        5 => StreamEvent::ContentBlockStop(ContentBlockStop {
            content_block_index: u32::from(input.byte()?),
        }),
        6 => {
            let pick = input.byte()?;
            let stop_reason = match STOP_REASONS.get(usize::from(pick)) {
                Some(known) => (*known).to_owned(),
                None => input.string()?,
            };
            StreamEvent::MessageStop(MessageStop {
                stop_reason,
                additional_model_response_fields: None,
            })
        }
        _ => {
            let input_tokens = input.number()?;
            let output_tokens = input.number()?;
            let cache = input.number()?;
            StreamEvent::Metadata(StreamMetadata {
                usage: Usage {
                    input_tokens,
                    output_tokens,
                    total_tokens: input_tokens + output_tokens,
                    cache_read_input_tokens: (cache & 1 == 1).then_some(cache >> 1),
                    cache_write_input_tokens: None,
                },
                metrics: Metrics {
                    latency_ms: input.number()?,
                },
            })
        }
    };
    Some(event)
}

fn delta(index: u8, delta: Delta) -> StreamEvent {
    StreamEvent::ContentBlockDelta(ContentBlockDelta {
        delta,
        content_block_index: u32::from(index),
    })
}

/// The fuzz entry point.
pub fn run(data: &[u8]) {
    let (include_usage, events) = decode(data);
    check(include_usage, &events);
}

/// The JSON of one `data:` frame, checking the framing.
fn data_frame(frame: &[u8]) -> Value {
    let text = std::str::from_utf8(frame).expect("SSE frames are UTF-8");
    let line = text
        .strip_prefix("data: ")
        .and_then(|t| t.strip_suffix("\n\n"))
        .unwrap_or_else(|| panic!("not a data frame: {text:?}"));
    assert!(
        !line.contains(['\n', '\r']),
        "a data frame spans lines: {text:?}"
    );
    serde_json::from_str(line).unwrap_or_else(|e| panic!("frame JSON {line:?}: {e}"))
}

/// Translates `events` as both streaming routes do and checks the invariants.
pub fn check(include_usage: bool, events: &[StreamEvent]) {
    let mut translator =
        ChunkTranslator::new(ID.to_owned(), CREATED, MODEL.to_owned(), include_usage);
    let mut tools_started = 0usize;
    for event in events {
        if matches!(event, StreamEvent::ContentBlockStart(_)) {
            tools_started += 1;
        }
        let chunks = translator.on_event(event);
        if let StreamEvent::Metadata(_) = event
            && !include_usage
        {
            assert!(chunks.is_empty(), "usage sent without stream_options");
        }
        for chunk in &chunks {
            assert_eq!(
                &data_frame(&sse::data(chunk)),
                chunk,
                "framing changed a chunk"
            );
            check_chunk(chunk, event, tools_started);
        }

        let value = serde_json::to_value(event).expect("an event serialises");
        let frame = sse::event(event.name(), &value);
        let text = std::str::from_utf8(&frame).expect("SSE frames are UTF-8");
        let data = text
            .strip_prefix(&format!("event: {}\ndata: ", event.name()))
            .and_then(|t| t.strip_suffix("\n\n"))
            .unwrap_or_else(|| panic!("not a named event frame: {text:?}"));
        assert!(!data.contains(['\n', '\r']), "an event frame spans lines");
        let back: StreamEvent = serde_json::from_str(data)
            .unwrap_or_else(|e| panic!("native frame {data:?} does not parse back: {e}"));
        assert_eq!(&back, event, "the native frame changed the event");
    }
    assert_eq!(&sse::done()[..], b"data: [DONE]\n\n");
}

fn check_chunk(chunk: &Value, event: &StreamEvent, tools_started: usize) {
    assert_eq!(chunk["id"], ID);
    assert_eq!(chunk["object"], "chat.completion.chunk");
    assert_eq!(chunk["created"], CREATED);
    assert_eq!(chunk["model"], MODEL);
    let choices = chunk["choices"].as_array().expect("choices is an array");
    if let StreamEvent::Metadata(meta) = event {
        assert!(choices.is_empty(), "a usage chunk carries choices");
        let usage = &chunk["usage"];
        // OpenAI counts cached prompt tokens inside prompt_tokens; Converse beside inputTokens.
        let read = meta.usage.cache_read_input_tokens.unwrap_or(0);
        let written = meta.usage.cache_write_input_tokens.unwrap_or(0);
        let prompt = meta
            .usage
            .input_tokens
            .saturating_add(read)
            .saturating_add(written);
        assert_eq!(usage["prompt_tokens"], prompt);
        assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], read);
        assert_eq!(
            usage["prompt_tokens_details"]["cache_write_tokens"],
            written
        );
        assert_eq!(usage["completion_tokens"], meta.usage.output_tokens);
        assert_eq!(
            usage["total_tokens"],
            meta.usage
                .total_tokens
                .max(prompt.saturating_add(meta.usage.output_tokens))
        );
        return;
    }
    assert_eq!(choices.len(), 1, "one choice per chunk: {chunk}");
    let choice = &choices[0];
    assert_eq!(choice["index"], 0);
    let delta = &choice["delta"];
    let finish = &choice["finish_reason"];
    match event {
        StreamEvent::MessageStop(stop) => {
            let reason = finish.as_str().expect("a finish reason on messageStop");
            assert!(
                ["stop", "length", "tool_calls", "content_filter"].contains(&reason),
                "finish reason {reason:?} for {:?}",
                stop.stop_reason
            );
        }
        _ => assert!(
            finish.is_null(),
            "finish reason outside messageStop: {chunk}"
        ),
    }
    match event {
        StreamEvent::ContentBlockDelta(d) => match &d.delta {
            Delta::Text(t) => assert_eq!(delta["content"], t.as_str()),
            Delta::ReasoningContent(ReasoningDelta::Text(t)) => {
                assert_eq!(delta["reasoning_content"], t.as_str())
            }
            Delta::ToolUse(t) => {
                let call = &delta["tool_calls"][0];
                assert_eq!(call["function"]["arguments"], t.input.as_str());
                check_tool_index(call, tools_started);
            }
            Delta::ReasoningContent(_) => panic!("signature/redacted reasoning sent: {chunk}"),
        },
        StreamEvent::ContentBlockStart(s) => {
            let BlockStart::ToolUse(tool) = &s.start;
            let call = &delta["tool_calls"][0];
            assert_eq!(call["id"], tool.tool_use_id.as_str());
            assert_eq!(call["function"]["name"], tool.name.as_str());
            check_tool_index(call, tools_started);
        }
        _ => {}
    }
}

fn check_tool_index(call: &Value, tools_started: usize) {
    let index = call["index"].as_u64().expect("a tool-call index");
    assert!(
        index == 0 || (index as usize) < tools_started,
        "tool-call index {index} with {tools_started} tools started"
    );
}
