//! A local Amazon Bedrock.
