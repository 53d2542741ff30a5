//! The success envelope of the Express service: `{"statusCode","data","message","success":true}`.
//!
//! Every answer carries `Cache-Control: no-store`: responses with tokens must never be cached
//! (RFC 6749 §5.1, OWASP Session Management Cheat Sheet).

use std::io::Cursor;

use rocket::http::{ContentType, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde::Serialize;

use crate::error::ApiError;

/// A successful answer: status, data and message.
#[derive(Debug)]
pub struct ApiResponse<T> {
    /// The HTTP status.
    pub status: Status,
    /// The `data` member.
    pub data: T,
    /// The `message` member.
    pub message: &'static str,
}

impl<T> ApiResponse<T> {
    /// 200 with this data and message.
    pub fn ok(data: T, message: &'static str) -> Self {
        Self {
            status: Status::Ok,
            data,
            message,
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    #[serde(rename = "statusCode")]
    status_code: u16,
    data: &'a T,
    message: &'a str,
    success: bool,
}

impl<'r, T: Serialize> Responder<'r, 'static> for ApiResponse<T> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let body = match serde_json::to_string(&Envelope {
            status_code: self.status.code,
            data: &self.data,
            message: self.message,
            success: true,
        }) {
            Ok(body) => body,
            Err(e) => {
                log::error!("rotor: response serialisation failed: {e}");
                return ApiError::internal().respond_to(req);
            }
        };
        Response::build()
            .status(self.status)
            .header(ContentType::JSON)
            .raw_header("Cache-Control", "no-store")
            .sized_body(body.len(), Cursor::new(body))
            .ok()
    }
}
