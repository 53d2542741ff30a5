//! Every `message` of the JSON envelope, in one place.
//!
//! VERBATIM: these strings are part of the Express contract that front ends match on, casing
//! included ("User logged In Successfully", "unauthorized request"). Do not reword, re-case or
//! "fix" them; add new ones instead.

// --- Success messages of the original routes.
/// `POST /register`, 201.
pub const REGISTERED: &str = "User registered Successfully";
/// `POST /login`, 200.
pub const LOGGED_IN: &str = "User logged In Successfully";
/// `POST /refresh-token`, 200.
pub const REFRESHED: &str = "Access token refreshed successfully";
/// `POST /logout`, 200.
pub const LOGGED_OUT: &str = "User logged Out";
/// `POST /logout-all`, 200.
pub const LOGGED_OUT_ALL: &str = "User logged Out of all sessions";
/// `GET /me`, 200.
pub const CURRENT_USER: &str = "Current user fetched successfully";

// --- The session centre (this service's own routes).
/// `GET /sessions`, 200.
pub const SESSIONS: &str = "Sessions fetched successfully";
/// `DELETE /sessions/<id>`, 200.
pub const SESSION_ENDED: &str = "Session ended";
/// `POST /logout-others`, 200.
pub const LOGGED_OUT_OTHERS: &str = "Other sessions ended";

// --- Token problems (all 401).
/// A request without any token.
pub const UNAUTHORIZED: &str = "unauthorized request";
/// A refresh token that fails verification or is unknown.
pub const INVALID_REFRESH: &str = "Invalid refresh token";
/// A refresh token that was already used or whose session ended.
pub const USED_REFRESH: &str = "Refresh token is expired or used";
/// An access token that fails verification or whose session ended.
pub const INVALID_ACCESS: &str = "Invalid access token";

// --- Input problems.
/// `POST /login`: a wrong password or an unknown user (one answer for both).
pub const INVALID_CREDENTIALS: &str = "Invalid user credentials";
/// `POST /register`: a field is missing or empty.
pub const ALL_FIELDS_REQUIRED: &str = "All fields are required";
/// `POST /register`: the name or the address is taken.
pub const USER_EXISTS: &str = "User with email or username already exists";
/// `POST /login`: neither `email` nor `username`.
pub const LOGIN_REQUIRED: &str = "username or email is required";
/// `POST /login`: a login name with a control character (or longer than any address).
pub const INVALID_LOGIN: &str = "username or email is not valid";
/// `POST /login`: no password.
pub const PASSWORD_REQUIRED: &str = "Password is required";
/// A password longer than the hashing bound.
pub const PASSWORD_TOO_LONG: &str = "Password is too long";
/// A new password shorter than 8 characters.
pub const PASSWORD_TOO_SHORT: &str = "Password must have at least 8 characters";
/// A user name outside the rule.
pub const INVALID_USERNAME: &str = "Username must be 3 to 64 letters, digits, '_', '.' or '-'";
/// An e-mail address outside the rule.
pub const INVALID_EMAIL: &str = "Email is not valid";

// --- Generic answers (this service's own; the original had none).
/// A body that is not JSON or a form, or does not parse.
pub const MALFORMED_BODY: &str = "Malformed request body";
/// A body of another media type.
pub const BODY_TYPE: &str = "Request body must be JSON or application/x-www-form-urlencoded";
/// 413.
pub const TOO_LARGE: &str = "Request entity too large";
/// 429, with `Retry-After`: over a rate limit.
pub const TOO_MANY_REQUESTS: &str = "Too many requests, retry later";
/// 503, with `Retry-After`.
pub const UNAVAILABLE: &str = "Service temporarily unavailable, retry later";
/// 500; the reason is in the log.
pub const INTERNAL: &str = "Internal server error";
/// 404.
pub const NOT_FOUND: &str = "Not found";
/// 405.
pub const METHOD_NOT_ALLOWED: &str = "Method not allowed";
/// 403: a state-changing request from another site (CSRF defence).
pub const CROSS_SITE: &str = "Cross-site request refused";
/// `GET /health`, 200.
pub const HEALTH_OK: &str = "ok";
