//! The chat-completions request as OpenAI documents it, in typed shapes.
//!
//! Every shape is read from the body the caller sent, borrowing its strings. A value of the wrong
//! JSON type is refused in the router's words, naming the exact field
//! (`` `messages[2].content` must be a string or an array of content parts, got a number ``);
//! what a field means (required, allowed values, limits) is judged where it is translated.
//! A null field reads as absent, as OpenAI treats it.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::RouterError;

/// Reads `T` from `from`; a refusal names the field at fault as a path below `at` (empty: the body).
pub fn read<'a, T, D>(at: &str, from: D) -> Result<T, RouterError>
where
    T: Deserialize<'a>,
    D: Deserializer<'a, Error = serde_json::Error>,
{
    serde_path_to_error::deserialize(from).map_err(|e| {
        let below = e.path().to_string();
        let param = match below.as_str() {
            "." => at.to_owned(),
            field if at.is_empty() => field.to_owned(),
            index if index.starts_with('[') => format!("{at}{index}"),
            field => format!("{at}.{field}"),
        };
        RouterError::invalid(&param, format!("`{param}` {}", e.inner()))
    })
}

/// `body[key]` read as `T`, or `None` where it is absent or null.
pub fn field<'a, T: Deserialize<'a>>(
    body: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<T>, RouterError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => read(key, value).map(Some),
    }
}

/// A JSON type as the refusals name it, matching [`shared::json::type_name`].
mod kind {
    pub const NULL: &str = "null";
    pub const BOOLEAN: &str = "a boolean";
    pub const NUMBER: &str = "a number";
    pub const STRING: &str = "a string";
    pub const ARRAY: &str = "an array";
    pub const OBJECT: &str = "an object";
}

/// A shape read from whichever JSON type arrives: each type it takes is a method, and any other
/// type is refused as "must be {EXPECTED}, got {type}".
trait Expect<'de>: Sized {
    const EXPECTED: &'static str;

    fn wrong<E: de::Error>(got: &str) -> E {
        E::custom(format_args!("must be {}, got {got}", Self::EXPECTED))
    }
    fn null<E: de::Error>() -> Result<Self, E> {
        Err(Self::wrong(kind::NULL))
    }
    fn boolean<E: de::Error>(_: bool) -> Result<Self, E> {
        Err(Self::wrong(kind::BOOLEAN))
    }
    fn number<E: de::Error>(_: Number) -> Result<Self, E> {
        Err(Self::wrong(kind::NUMBER))
    }
    fn text<E: de::Error>(_: Cow<'de, str>) -> Result<Self, E> {
        Err(Self::wrong(kind::STRING))
    }
    fn list<A: SeqAccess<'de>>(_: A) -> Result<Self, A::Error> {
        Err(Self::wrong(kind::ARRAY))
    }
    fn object<A: MapAccess<'de>>(_: A) -> Result<Self, A::Error> {
        Err(Self::wrong(kind::OBJECT))
    }
}

struct ExpectVisitor<T>(PhantomData<T>);

impl<'de, T: Expect<'de>> Visitor<'de> for ExpectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        T::null()
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        T::null()
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        T::boolean(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::number(v.into())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        T::number(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // JSON holds no NaN or infinity, so the fallback is never taken.
        T::number(Number::from_f64(v).unwrap_or_else(|| 0.into()))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<T, E> {
        T::text(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::text(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        T::text(Cow::Owned(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        T::list(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::object(map)
    }
}

/// The `Deserialize` of every shape: the JSON type that arrives picks the [`Expect`] method.
fn by_expect<'de, D: Deserializer<'de>, T: Expect<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(ExpectVisitor(PhantomData))
}

pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Expect<'de> for Text<'a> {
    const EXPECTED: &'static str = kind::STRING;
    fn text<E: de::Error>(v: Cow<'de, str>) -> Result<Self, E> {
        Ok(Self(v))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        by_expect(d)
    }
}

pub struct Flag(pub bool);

impl Expect<'_> for Flag {
    const EXPECTED: &'static str = kind::BOOLEAN;
    fn boolean<E: de::Error>(v: bool) -> Result<Self, E> {
        Ok(Self(v))
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        by_expect(d)
    }
}

/// Any JSON number.
pub struct Real(pub f64);

impl Expect<'_> for Real {
    const EXPECTED: &'static str = kind::NUMBER;
    fn number<E: de::Error>(v: Number) -> Result<Self, E> {
        // Every JSON number has an f64 reading; the fallback is never taken.
        Ok(Self(v.as_f64().unwrap_or_default()))
    }
}

impl<'de> Deserialize<'de> for Real {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        by_expect(d)
    }
}

/// Any JSON value, kept as far as the translation looks at it: where a field is judged by its
/// meaning rather than its JSON type (a token count), or a wrong type is ignored (a document's
/// file name) or refused only after the list holding it (a stop sequence).
pub enum Loose<'a, T = IgnoredAny> {
    Text(Cow<'a, str>),
    Number(Number),
    Object(T),
    /// Null, a boolean or an array, by its JSON type.
    Other(&'static str),
}

impl<T> Loose<'_, T> {
    /// The JSON type that came, as the refusals name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => kind::STRING,
            Self::Number(_) => kind::NUMBER,
            Self::Object(_) => kind::OBJECT,
            Self::Other(kind) => kind,
        }
    }

    /// A whole number of at least zero, as JSON wrote it.
    pub fn count(&self) -> Option<u64> {
        match self {
            Self::Number(n) => n.as_u64(),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Expect<'de> for Loose<'a, T> {
    const EXPECTED: &'static str = "anything";
    fn null<E: de::Error>() -> Result<Self, E> {
        Ok(Self::Other(kind::NULL))
    }
    fn boolean<E: de::Error>(_: bool) -> Result<Self, E> {
        Ok(Self::Other(kind::BOOLEAN))
    }
    fn number<E: de::Error>(v: Number) -> Result<Self, E> {
        Ok(Self::Number(v))
    }
    fn text<E: de::Error>(v: Cow<'de, str>) -> Result<Self, E> {
        Ok(Self::Text(v))
    }
    fn list<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::Other(kind::ARRAY))
    }
    fn object<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Self::Object)
    }
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for Loose<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        by_expect(d)
    }
}

/// A JSON object read as `T`. Serde would also take an array for a struct, field by position;
/// OpenAI's objects are objects.
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Expect<'de> for Object<T> {
    const EXPECTED: &'static str = kind::OBJECT;
    fn object<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Self)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        by_expect(d)
    }
}

/// A JSON array of `T`.
pub struct List<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Expect<'de> for List<T> {
    const EXPECTED: &'static str = kind::ARRAY;
    fn list<A: SeqAccess<'de>>(seq: A) -> Result<Self, A::Error> {
        Vec::deserialize(SeqAccessDeserializer::new(seq)).map(Self)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        by_expect(d)
    }
}

/// One string or a list of `T`: the forms of `stop` and of a message's `content`.
pub enum TextOrList<'a, T> {
    Text(Cow<'a, str>),
    List(Vec<T>),
}

/// What a field holding one string or else `Self` (a list's item, an object) must be, in its
/// refusal's words.
pub trait OrText {
    const EXPECTED: &'static str;
}

impl<'de: 'a, 'a, T: Deserialize<'de> + OrText> Expect<'de> for TextOrList<'a, T> {
    const EXPECTED: &'static str = <T as OrText>::EXPECTED;
    fn text<E: de::Error>(v: Cow<'de, str>) -> Result<Self, E> {
        Ok(Self::Text(v))
    }
    fn list<A: SeqAccess<'de>>(seq: A) -> Result<Self, A::Error> {
        Vec::deserialize(SeqAccessDeserializer::new(seq)).map(Self::List)
    }
}

impl<'de: 'a, 'a, T: Deserialize<'de> + OrText> Deserialize<'de> for TextOrList<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        by_expect(d)
    }
}

/// `stop`: one sequence or a list of them. The items are judged after the list's length, so a
/// list that is too long is refused for its length first.
pub type Stop<'a> = TextOrList<'a, Loose<'a>>;

impl OrText for Loose<'_> {
    const EXPECTED: &'static str = "a string or an array of strings";
}

/// The parameters Bedrock cannot honour. Each is refused unless it holds its default, whatever
/// JSON it holds, so the values are kept as sent.
#[derive(Deserialize)]
pub struct UnsupportedParameters {
    pub n: Option<Value>,
    pub logprobs: Option<Value>,
    pub top_logprobs: Option<IgnoredAny>,
    pub logit_bias: Option<Value>,
    pub frequency_penalty: Option<Value>,
    pub presence_penalty: Option<Value>,
    pub audio: Option<IgnoredAny>,
    pub modalities: Option<Value>,
    pub prediction: Option<IgnoredAny>,
    pub web_search_options: Option<IgnoredAny>,
    pub functions: Option<IgnoredAny>,
    pub function_call: Option<IgnoredAny>,
}

#[derive(Deserialize)]
pub struct StreamOptions {
    pub include_usage: Option<Flag>,
}

/// One entry of `messages`, whatever its role; which fields count depends on the role.
#[derive(Deserialize)]
pub struct Turn<'a> {
    #[serde(borrow)]
    pub role: Option<Text<'a>>,
    #[serde(borrow)]
    pub content: Option<Content<'a>>,
    #[serde(borrow)]
    pub tool_calls: Option<List<Object<ToolCall<'a>>>>,
    #[serde(borrow)]
    pub tool_call_id: Option<Text<'a>>,
}

/// A message's `content`: plain text or a list of typed parts.
pub type Content<'a> = TextOrList<'a, Object<Part<'a>>>;

impl OrText for Object<Part<'_>> {
    const EXPECTED: &'static str = "a string or an array of content parts";
}

/// One content part; `type` says which of the other fields it carries.
#[derive(Deserialize)]
pub struct Part<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Option<Text<'a>>,
    #[serde(borrow)]
    pub text: Option<Text<'a>>,
    #[serde(borrow)]
    pub refusal: Option<Text<'a>>,
    #[serde(borrow)]
    pub image_url: Option<ImageUrl<'a>>,
    #[serde(borrow)]
    pub file: Option<Object<FilePart<'a>>>,
    pub cache_control: Option<Object<IgnoredAny>>,
}

/// One string or an object read as `T`: the forms of `image_url` and of `tool_choice`.
pub enum TextOrObject<'a, T> {
    Text(Cow<'a, str>),
    Object(T),
}

impl<'de: 'a, 'a, T: Deserialize<'de> + OrText> Expect<'de> for TextOrObject<'a, T> {
    const EXPECTED: &'static str = <T as OrText>::EXPECTED;
    fn text<E: de::Error>(v: Cow<'de, str>) -> Result<Self, E> {
        Ok(Self::Text(v))
    }
    fn object<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Self::Object)
    }
}

impl<'de: 'a, 'a, T: Deserialize<'de> + OrText> Deserialize<'de> for TextOrObject<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        by_expect(d)
    }
}

/// `image_url`: OpenAI's `{"url": ...}`, or the URL alone as some clients send it.
pub type ImageUrl<'a> = TextOrObject<'a, ImageUrlObject<'a>>;

#[derive(Deserialize)]
pub struct ImageUrlObject<'a> {
    #[serde(borrow)]
    pub url: Option<Text<'a>>,
}

impl OrText for ImageUrlObject<'_> {
    const EXPECTED: &'static str = "an object with `url`";
}

#[derive(Deserialize)]
pub struct FilePart<'a> {
    pub file_id: Option<IgnoredAny>,
    #[serde(borrow)]
    pub file_data: Option<Text<'a>>,
    /// Only a hint for the document's name; anything but a string is ignored.
    #[serde(borrow)]
    pub filename: Option<Loose<'a>>,
}

#[derive(Deserialize)]
pub struct ToolCall<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub function: Option<Object<CalledFunction<'a>>>,
}

#[derive(Deserialize)]
pub struct CalledFunction<'a> {
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    #[serde(borrow)]
    pub arguments: Option<Text<'a>>,
}

/// One entry of `tools`.
#[derive(Deserialize)]
pub struct ToolDefinition<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Option<Text<'a>>,
    #[serde(borrow)]
    pub function: Option<Object<FunctionDefinition<'a>>>,
}

#[derive(Deserialize)]
pub struct FunctionDefinition<'a> {
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    #[serde(borrow)]
    pub description: Option<Text<'a>>,
    pub parameters: Option<Object<Map<String, Value>>>,
}

/// `tool_choice`: a mode, or `{"type": "function", "function": {"name": ...}}`.
pub type ToolChoice<'a> = TextOrObject<'a, NamedChoice<'a>>;

/// The object form of `tool_choice`, read leniently: a missing or malformed name gets the one
/// refusal that says what to send.
#[derive(Deserialize)]
pub struct NamedChoice<'a> {
    #[serde(borrow)]
    function: Option<Loose<'a, NamedFunction<'a>>>,
}

#[derive(Deserialize)]
struct NamedFunction<'a> {
    #[serde(borrow)]
    name: Option<Loose<'a>>,
}

impl<'a> NamedChoice<'a> {
    /// The named function, where the object names one as a string.
    pub fn name(self) -> Option<Cow<'a, str>> {
        match self.function {
            Some(Loose::Object(NamedFunction {
                name: Some(Loose::Text(name)),
            })) => Some(name),
            _ => None,
        }
    }
}

impl OrText for NamedChoice<'_> {
    const EXPECTED: &'static str = "a string or an object";
}

/// `response_format`'s kind; the rest of it is read for the kind that has more.
#[derive(Deserialize)]
pub struct ResponseFormatKind<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub struct JsonSchemaFormat<'a> {
    #[serde(borrow)]
    pub json_schema: Option<Object<JsonSchemaSpec<'a>>>,
}

#[derive(Deserialize)]
pub struct JsonSchemaSpec<'a> {
    pub schema: Option<Object<Map<String, Value>>>,
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    #[serde(borrow)]
    pub description: Option<Text<'a>>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refusal(err: RouterError) -> (String, String) {
        match err {
            RouterError::InvalidRequest {
                param: Some(param),
                message,
            } => (param, message),
            other => panic!("not an invalid request: {other:?}"),
        }
    }

    #[test]
    fn a_wrong_type_deep_in_the_messages_names_its_path_and_both_types() {
        let body = json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {"role": "user", "content": [{"type": "text", "text": 7}]},
        ]);
        let err = read::<List<Object<Turn>>, _>("messages", &body)
            .err()
            .unwrap();
        assert_eq!(
            refusal(err),
            (
                "messages[2].content[0].text".to_owned(),
                "`messages[2].content[0].text` must be a string, got a number".to_owned()
            )
        );
    }

    #[test]
    fn null_reads_as_absent() {
        let body = json!({"stream": null, "stop": null})
            .as_object()
            .cloned()
            .unwrap();
        assert!(field::<Flag>(&body, "stream").unwrap().is_none());
        assert!(field::<Stop>(&body, "stop").unwrap().is_none());
        assert!(field::<Stop>(&body, "absent").unwrap().is_none());
    }

    #[test]
    fn an_array_is_not_taken_for_an_object() {
        let err = read::<List<Object<Turn>>, _>("messages", &json!([["user", "hi"]]))
            .err()
            .unwrap();
        assert_eq!(
            refusal(err).1,
            "`messages[0]` must be an object, got an array"
        );
    }

    #[test]
    fn lenient_fields_take_any_json() {
        let counts = json!([3, -1, 2.0, "3", null, [1], {"a": 1}]);
        let read_counts: Vec<Option<u64>> = read::<Vec<Loose>, _>("n", &counts)
            .unwrap()
            .iter()
            .map(Loose::count)
            .collect();
        assert_eq!(read_counts, [Some(3), None, None, None, None, None, None]);
        let unnamed = json!({"function": {"name": 5}});
        let TextOrObject::Object(choice) =
            read::<ToolChoice, _>("tool_choice", &unnamed).ok().unwrap()
        else {
            panic!("the object form was not read as an object");
        };
        assert!(choice.name().is_none());
    }
}
