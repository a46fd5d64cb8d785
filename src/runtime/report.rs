//! Error text as the reference `lua` prints it: the message, then the traceback.

use mlua::Error;

pub fn error_text(e: &Error) -> String {
    match e {
        Error::RuntimeError(s) => s.clone(),
        Error::SyntaxError { message, .. } => message.clone(),
        Error::MemoryError(_) => "not enough memory".into(),
        Error::CallbackError { traceback, cause } => {
            let inner = error_text(cause);
            if inner.contains("stack traceback:") { inner } else { format!("{inner}\n{traceback}") }
        }
        Error::WithContext { context, cause } => format!("{context}: {}", error_text(cause)),
        other => other.to_string(),
    }
}
