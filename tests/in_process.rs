//! The library runs scripts without the binary: one runtime, its loop, its results.

use rlua_net::{Options, Runtime};

#[test]
fn a_script_and_its_loop_run_in_process() {
    let rt = Runtime::new(&Options::default()).expect("runtime");
    rt.exec(
        r#"
        local core = require "rluanet.core"
        local a, b = core.socketpair()
        got = {}
        b:on(function(ev, data) if ev == "data" then got[#got + 1] = data; b:close(); a:close() end end)
        b:watch("data")
        a:queue("ping")
        local t = core.timer()
        t:on(function() got[#got + 1] = "timer" end)
        t:start(0.01)
        "#,
        "=in_process",
    )
    .expect("main chunk");
    rt.run_loop().expect("loop");
    let got: Vec<String> = rt.lua().globals().get("got").expect("got");
    assert_eq!(got, vec!["ping".to_string(), "timer".to_string()]);
}

#[test]
fn an_error_in_a_callback_ends_the_loop_with_its_message() {
    let rt = Runtime::new(&Options::default()).expect("runtime");
    rt.exec(
        r#"
        local core = require "rluanet.core"
        local t = core.timer()
        t:on(function() error("boom in timer") end)
        t:start(0)
        "#,
        "=in_process",
    )
    .expect("main chunk");
    let err = rt.run_loop().expect_err("the callback error must surface");
    assert!(err.contains("boom in timer"), "{err}");
}
