//! The embedded backend: the client traits implemented directly on a data dir.

mod admin;
mod consumer;
mod producer;

pub use admin::EmbeddedAdmin;
pub use consumer::EmbeddedConsumer;
pub use producer::EmbeddedProducer;
