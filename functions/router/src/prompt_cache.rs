//! Cache checkpoints placed for callers that cannot place them (OpenAI-shaped chat), within the
//! model's rules: where its checkpoints may go, how many, from what prefix size they store
//! anything, and TTL order.
//!
//! Candidates, in the order Bedrock reads a prompt for its cache (tools, system, messages):
//! after the tool definitions (models that cache tools), after the system prompt, and after the
//! last user turn. The one after the system prompt is reused by every conversation that shares
//! it, the one after the last user turn by the next turn of the same conversation, so those
//! come first when the caller's own checkpoints leave fewer free than there are candidates.
//!
//! A checkpoint whose prefix is below the model's minimum is accepted by Bedrock but caches
//! nothing, and it uses one of the few allowed, so none is placed there. The prefix is
//! estimated at four bytes of text per token, an overestimate for English prose (Claude
//! averages about 3.5 characters per token), so a checkpoint is rather placed in vain than a
//! cacheable prompt left uncached. Media count by their encoded size, for the same reason.
//!
//! A one-hour entry may not come after a five-minute one. An automatic checkpoint takes the
//! asked-for TTL when the checkpoints around it allow, else the TTL they allow, and is left out
//! when they allow none (the caller's own are already out of order, and Bedrock will say so).

use shared::catalog::PromptCaching;
use shared::prompt_cache::Ttl;

use crate::converse::{
    CachePoint, ContentBlock, ConverseRequest, Role, SystemBlock, Tool, ToolResultContent,
};

/// Bytes of prompt per token in the prefix estimate (see the module doc).
const BYTES_PER_TOKEN: usize = 4;

/// What [`place`] did to a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Placed {
    /// Checkpoints added.
    pub added: u8,
    /// Checkpoints in the request afterwards, the caller's own included.
    pub total: u8,
}

/// Where a checkpoint sits in the cache's reading order: section (tools 0, system 1,
/// messages 2), message index, block index.
type Position = (u8, usize, usize);

/// Places checkpoints in `request` for a model with `rules`, asking for `wanted` entries.
pub fn place(request: &mut ConverseRequest, rules: &PromptCaching, wanted: Ttl) -> Placed {
    let existing = existing_points(request);
    let free = usize::from(rules.max_points).saturating_sub(existing.len());
    let ttl = if rules.one_hour {
        wanted
    } else {
        Ttl::FiveMinutes
    };
    let mut chosen: Vec<(Position, Ttl)> = Vec::new();
    let mut points = existing;
    for candidate in candidates(request, rules).into_iter().take(free) {
        // The checkpoints before it bound its TTL from above, those after it from below.
        let before = points
            .iter()
            .filter(|(p, _)| *p < candidate)
            .map(|(_, t)| *t)
            .min();
        let after = points
            .iter()
            .filter(|(p, _)| *p > candidate)
            .map(|(_, t)| *t)
            .max();
        let upper = before.unwrap_or(Ttl::OneHour);
        let lower = after.unwrap_or(Ttl::FiveMinutes);
        if lower > upper {
            continue;
        }
        let ttl = ttl.clamp(lower, upper);
        points.push((candidate, ttl));
        chosen.push((candidate, ttl));
    }
    for &(position, ttl) in &chosen {
        insert(request, position, ttl);
    }
    Placed {
        added: chosen.len() as u8,
        total: points.len().min(usize::from(u8::MAX)) as u8,
    }
}

/// Checkpoints in `request`, wherever they came from.
pub fn count(request: &ConverseRequest) -> u8 {
    existing_points(request).len().min(usize::from(u8::MAX)) as u8
}

/// The caller's own checkpoints with their TTLs (none written means five minutes).
fn existing_points(request: &ConverseRequest) -> Vec<(Position, Ttl)> {
    let ttl = |p: &CachePoint| {
        p.ttl
            .as_deref()
            .and_then(Ttl::parse)
            .unwrap_or(Ttl::FiveMinutes)
    };
    let mut out = Vec::new();
    if let Some(tc) = &request.tool_config {
        for (i, t) in tc.tools.iter().enumerate() {
            if let Tool::CachePoint(p) = t {
                out.push(((0, 0, i), ttl(p)));
            }
        }
    }
    for (i, b) in request.system.iter().enumerate() {
        if let SystemBlock::CachePoint(p) = b {
            out.push(((1, 0, i), ttl(p)));
        }
    }
    for (m, message) in request.messages.iter().enumerate() {
        for (i, b) in message.content.iter().enumerate() {
            if let ContentBlock::CachePoint(p) = b {
                out.push(((2, m, i), ttl(p)));
            }
        }
    }
    out
}

/// The free places worth a checkpoint, most reusable first.
fn candidates(request: &ConverseRequest, rules: &PromptCaching) -> Vec<Position> {
    let enough = |bytes: usize| bytes / BYTES_PER_TOKEN >= rules.min_tokens as usize;
    let tools = request.tool_config.as_ref().map_or(&[][..], |tc| &tc.tools);
    let tool_bytes: usize = tools.iter().map(tool_size).sum();
    let system_bytes: usize = request.system.iter().map(system_size).sum();
    let last_user = request.messages.iter().rposition(|m| m.role == Role::User);

    let mut out = Vec::new();
    if !matches!(
        request.system.last(),
        None | Some(SystemBlock::CachePoint(_))
    ) && enough(tool_bytes + system_bytes)
    {
        out.push((1, 0, usize::MAX));
    }
    if let Some(m) = last_user {
        let message = &request.messages[m];
        let message_bytes: usize = request.messages[..=m]
            .iter()
            .flat_map(|m| &m.content)
            .map(block_size)
            .sum();
        if !matches!(
            message.content.last(),
            None | Some(ContentBlock::CachePoint(_))
        ) && enough(tool_bytes + system_bytes + message_bytes)
        {
            out.push((2, m, usize::MAX));
        }
    }
    if rules.in_tools
        && !matches!(tools.last(), None | Some(Tool::CachePoint(_)))
        && enough(tool_bytes)
    {
        out.push((0, 0, usize::MAX));
    }
    out
}

fn insert(request: &mut ConverseRequest, (section, message, _): Position, ttl: Ttl) {
    let point = || CachePoint::with_ttl(ttl.as_str());
    match section {
        0 => {
            if let Some(tc) = &mut request.tool_config {
                tc.tools.push(Tool::CachePoint(point()));
            }
        }
        1 => request.system.push(SystemBlock::CachePoint(point())),
        _ => {
            if let Some(m) = request.messages.get_mut(message) {
                m.content.push(ContentBlock::CachePoint(point()));
            }
        }
    }
}

fn json_size(value: &impl serde::Serialize) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

fn tool_size(tool: &Tool) -> usize {
    match tool {
        Tool::ToolSpec(spec) => {
            spec.name.len()
                + spec.description.as_ref().map_or(0, String::len)
                + json_size(&spec.input_schema.json)
        }
        Tool::CachePoint(_) => 0,
    }
}

fn system_size(block: &SystemBlock) -> usize {
    match block {
        SystemBlock::Text(t) => t.len(),
        SystemBlock::CachePoint(_) => 0,
    }
}

fn block_size(block: &ContentBlock) -> usize {
    match block {
        ContentBlock::Text(t) => t.len(),
        ContentBlock::Image(i) => i.source.bytes.len(),
        ContentBlock::Document(d) => d.source.bytes.len(),
        ContentBlock::ToolUse(u) => u.name.len() + json_size(&u.input),
        ContentBlock::ToolResult(r) => r
            .content
            .iter()
            .map(|c| match c {
                ToolResultContent::Text(t) => t.len(),
                ToolResultContent::Json(v) => json_size(v),
                ToolResultContent::Image(i) => i.source.bytes.len(),
            })
            .sum(),
        ContentBlock::ReasoningContent(_) | ContentBlock::CachePoint(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::converse::{InputSchema, Message, ToolConfig, ToolSpec};
    use serde_json::json;

    fn rules(min_tokens: u32, in_tools: bool, one_hour: bool) -> PromptCaching {
        PromptCaching {
            min_tokens,
            max_points: 4,
            in_tools,
            one_hour,
        }
    }

    fn text(role: Role, t: &str) -> Message {
        Message {
            role,
            content: vec![ContentBlock::Text(t.to_owned())],
        }
    }

    /// A request with a system prompt of `system_words` words, tools, and a short chat.
    fn request(system_words: usize) -> ConverseRequest {
        ConverseRequest {
            system: vec![SystemBlock::Text("word ".repeat(system_words))],
            messages: vec![
                text(Role::User, "hello"),
                text(Role::Assistant, "hi"),
                text(Role::User, "what now?"),
            ],
            tool_config: Some(ToolConfig {
                tools: vec![Tool::ToolSpec(ToolSpec {
                    name: "lookup".into(),
                    description: Some("d ".repeat(3000)),
                    input_schema: InputSchema {
                        json: json!({"type": "object"}),
                    },
                })],
                tool_choice: None,
            }),
            ..ConverseRequest::default()
        }
    }

    fn points(r: &ConverseRequest) -> Vec<(Position, Ttl)> {
        existing_points(r)
    }

    #[test]
    fn tools_system_and_last_user_turn_get_a_checkpoint_each() {
        let mut r = request(2000);
        let placed = place(&mut r, &rules(1024, true, false), Ttl::FiveMinutes);
        assert_eq!(placed, Placed { added: 3, total: 3 });
        assert_eq!(
            points(&r).iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            vec![(0, 0, 1), (1, 0, 1), (2, 2, 1)]
        );
        assert_eq!(
            r.system[1],
            SystemBlock::CachePoint(CachePoint::with_ttl("5m"))
        );
    }

    #[test]
    fn a_prefix_below_the_minimum_gets_none_and_nova_none_after_tools() {
        let mut small = request(10);
        small.tool_config = None;
        assert_eq!(
            place(&mut small, &rules(1024, true, false), Ttl::FiveMinutes),
            Placed::default()
        );
        let mut r = request(2000);
        let placed = place(&mut r, &rules(1024, false, false), Ttl::FiveMinutes);
        assert_eq!(placed.added, 2);
        assert!(matches!(
            r.tool_config.unwrap().tools.last(),
            Some(Tool::ToolSpec(_))
        ));
    }

    #[test]
    fn the_callers_checkpoints_count_against_the_limit() {
        let mut r = request(2000);
        for _ in 0..3 {
            r.messages[0]
                .content
                .push(ContentBlock::CachePoint(CachePoint::default_point()));
        }
        let placed = place(&mut r, &rules(1024, true, false), Ttl::FiveMinutes);
        assert_eq!(placed, Placed { added: 1, total: 4 });
        assert_eq!(r.system.len(), 2, "the system prompt's comes first");
    }

    #[test]
    fn one_hour_only_where_the_model_keeps_it_and_never_after_a_five_minute_entry() {
        let mut r = request(2000);
        place(&mut r, &rules(1024, true, false), Ttl::OneHour);
        assert!(points(&r).iter().all(|(_, t)| *t == Ttl::FiveMinutes));

        let mut r = request(2000);
        place(&mut r, &rules(1024, true, true), Ttl::OneHour);
        assert!(points(&r).iter().all(|(_, t)| *t == Ttl::OneHour));

        // The caller's five-minute checkpoint in the system prompt: what follows it is 5m,
        // what precedes it may stay 1h.
        let mut r = request(2000);
        r.system
            .push(SystemBlock::CachePoint(CachePoint::default_point()));
        r.system.push(SystemBlock::Text("more".into()));
        place(&mut r, &rules(1024, true, true), Ttl::OneHour);
        let ttls: Vec<Ttl> = points(&r).iter().map(|(_, t)| *t).collect();
        assert_eq!(
            ttls,
            vec![
                Ttl::OneHour,
                Ttl::FiveMinutes,
                Ttl::FiveMinutes,
                Ttl::FiveMinutes
            ]
        );
    }

    #[test]
    fn a_conversation_ending_in_a_checkpoint_is_left_as_it_is() {
        let mut r = request(2000);
        r.tool_config = None;
        r.system
            .push(SystemBlock::CachePoint(CachePoint::default_point()));
        r.messages[2]
            .content
            .push(ContentBlock::CachePoint(CachePoint::default_point()));
        assert_eq!(
            place(&mut r, &rules(1024, true, false), Ttl::FiveMinutes),
            Placed { added: 0, total: 2 }
        );
    }
}
