//! The NodeMCU dialect's `sjson` and `bit` modules (stdlib/nodemcu/sjson.lua, bit.lua),
//! run through the real binary with `--dialect nodemcu`: encoding, decoding, the
//! streaming decoder and encoder, their options and errors, big documents, python3's
//! `json` module as a cross-check, and `bit` on 32-bit edge values.

mod cli_support;

use cli_support::{Outcome, Run, TempDir};
use std::path::Path;

/// Helpers every script gets: `canon(v)` renders any decoded value deterministically
/// (sorted keys, integer/float subtypes, strings byte-escaped), `esc(s)` escapes a string.
const PRELUDE: &str = r##"
local function esc(s)
  return '"' .. s:gsub('[%c"\\\128-\255]', function(c) return "\\" .. c:byte() end) .. '"'
end
local function canon(v)
  if rawequal(v, sjson.NULL) then return "NULL" end
  local tv = type(v)
  if tv == "table" then
    local keys = {}
    for k in next, v do keys[#keys + 1] = k end
    table.sort(keys, function(a, b)
      if type(a) ~= type(b) then return type(a) < type(b) end
      return a < b
    end)
    local out = {}
    for i, k in ipairs(keys) do out[i] = canon(k) .. "=" .. canon(rawget(v, k)) end
    return "{" .. table.concat(out, ",") .. "}"
  elseif tv == "string" then
    return esc(v)
  elseif tv == "number" then
    return math.type(v) == "integer" and ("i" .. v) or ("f" .. string.format("%.17g", v))
  end
  return tostring(v)
end
local function perr(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected an error")
  return (tostring(e):gsub("^[^:]*:%d+: ", ""))
end
"##;

/// Runs `body` (after the prelude) as a script file under `--dialect nodemcu`.
fn run_script(dir: &TempDir, body: &str) -> Outcome {
    dir.write("t.lua", &format!("{PRELUDE}\n{body}"));
    Run::rlua().cwd(dir.path()).args(["--dialect", "nodemcu", "t.lua"]).run()
}

/// Runs `body` and returns its stdout, failing unless it exits 0 with an empty stderr.
fn lua_ok(tag: &str, body: &str) -> String {
    let dir = TempDir::new(tag);
    let out = run_script(&dir, body);
    out.assert_code(0);
    assert!(out.stderr.is_empty(), "unexpected stderr\n{}", out.describe());
    out.stdout
}

fn assert_lines(got: &str, want: &str) {
    let got: Vec<&str> = got.lines().collect();
    let want: Vec<&str> = want.trim_start_matches('\n').trim_end().lines().map(str::trim_start).collect();
    assert_eq!(got, want);
}

/// Runs python3 on `script` in `dir`, returning stdout; None when python3 is missing.
fn python(dir: &Path, script: &str) -> Option<String> {
    let out = match std::process::Command::new("python3").arg("-c").arg(script).current_dir(dir).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("python3 not found; skipping the cross-check");
            return None;
        }
        Err(e) => panic!("cannot run python3: {e}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python3 failed: {stderr}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---------------------------------------------------------------- sjson: encoding

#[test]
fn encode_values_and_arrays() {
    let out = lua_ok(
        "sjson-enc-values",
        r##"
print(sjson.encode({1, -2, 3.5, "x", true, false}))
print(sjson.encode({}))
print(sjson.encode({{}, {{}}}))
print(sjson.encode({[1] = "a", [3] = "c"}))
print(sjson.encode({key = "value"}))
print(sjson.encode({[1.5] = 1}))
print(sjson.encode({[0] = "z"}))
print(sjson.encode({[-1] = 1}))
print(sjson.encode({{a = {b = {1}}}}))
print(sjson.encode({0.1, 1/3, 1e20, 2^53, -0.0, 1.0, 123456789012345.0, 1e-7, 2.5e-300}))
print(sjson.encode({math.maxinteger, math.mininteger, 0}))
print(sjson.encode({"quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul\0 one\1 us\31"}))
print(sjson.encode({"utf8 é😀"}))
print(table.concat({sjson.encode({"\255\254", "a\127"}):byte(1, -1)}, " "))
"##,
    );
    assert_lines(
        &out,
        r##"
        [1,-2,3.5,"x",true,false]
        []
        [[],[[]]]
        ["a",null,"c"]
        {"key":"value"}
        {"1.5":1}
        {"0":"z"}
        {"-1":1}
        [{"a":{"b":[1]}}]
        [0.1,0.3333333333333333,1e+20,9007199254740992.0,-0.0,1.0,123456789012345.0,1e-07,2.5e-300]
        [9223372036854775807,-9223372036854775808,0]
        ["quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul\u0000 one\u0001 us\u001f"]
        ["utf8 é😀"]
        91 34 255 254 34 44 34 97 127 34 93
        "##,
    );
}

#[test]
fn encode_null_functions_and_errors() {
    let out = lua_ok(
        "sjson-enc-opts",
        r##"
print(sjson.encode({"a", "\0", "b"}, {null = "\0"}))
print(sjson.encode({"a", "\0"}))
print(sjson.encode({sjson.NULL, io.stdout}))
print(sjson.encode({x = sjson.NULL}))
local calls = 0
print(sjson.encode({function() calls = calls + 1 return {1, function() return "deep" end} end}), calls)
print(sjson.encode({function() return function() return 5 end end, function() end}))
local f
f = function() return f end
print(perr(sjson.encode, {f}))
print(perr(sjson.encode, {coroutine.create(print)}))
print(perr(sjson.encode, {[true] = 1}))
print(perr(sjson.encode, {x = {[{}] = 1}}))
print(perr(sjson.encode, {0/0}):match("^Cannot encode non%-finite number") ~= nil)
print(perr(sjson.encode, {math.huge}))
print(perr(sjson.encode, {a = -math.huge}))
print(perr(sjson.encode, "str"))
print(perr(sjson.encode))
print(perr(sjson.encoder, 5))
print(perr(sjson.encode, {function() error("boom", 0) end}))
"##,
    );
    assert_lines(
        &out,
        r##"
        ["a",null,"b"]
        ["a","\u0000"]
        [null,null]
        {"x":null}
        [[1,"deep"]]	1
        [5,null]
        Cannot encode type 6
        Cannot encode type 8
        Cannot encode type 1
        Cannot encode type 5
        true
        Cannot encode non-finite number inf
        Cannot encode non-finite number -inf
        bad argument #1 to 'encode' (table expected, got string)
        bad argument #1 to 'encode' (table expected, got no value)
        bad argument #1 to 'encoder' (table expected, got number)
        boom
        "##,
    );
}

#[test]
fn encode_depth_limit() {
    let out = lua_ok(
        "sjson-enc-depth",
        r##"
local function nest(n) local t = {} local c = t for _ = 2, n do c[1] = {} c = c[1] end return t end
print(#sjson.encode(nest(20)))
print(perr(sjson.encode, nest(21)))
print(#sjson.encode(nest(21), {depth = 21}))
print(perr(sjson.encode, nest(22), {depth = 21}))
print(#sjson.encode(nest(4), {depth = 1}))
print(perr(sjson.encode, nest(5), {depth = 1}))
print(#sjson.encode(nest(1000), {depth = 5000}))
print(perr(sjson.encode, nest(1001), {depth = 5000}))
local cycle = {}
cycle[1] = cycle
print(perr(sjson.encode, cycle))
"##,
    );
    assert_lines(
        &out,
        "
        40
        encoder stack overflow
        42
        encoder stack overflow
        8
        encoder stack overflow
        2000
        encoder stack overflow
        encoder stack overflow
        ",
    );
}

#[test]
fn encoder_reads_in_chunks_lazily() {
    let out = lua_ok(
        "sjson-encoder",
        r##"
local doc = {1, 2, {a = "hello"}, "xyz"}
local e = sjson.encoder(doc)
local parts = {}
while true do
  local p = e:read(3)
  if not p then break end
  parts[#parts + 1] = p
end
print(table.concat(parts, "|"))
print(select("#", e:read()), select("#", e:read(10)))

local big = {}
for i = 1, 300 do big[i] = string.rep("x", 20) end
local sizes, all = {}, {}
e = sjson.encoder(big)
while true do
  local p = e:read()
  if not p then break end
  sizes[#sizes + 1] = #p
  all[#all + 1] = p
end
print(table.concat(sizes, " "), table.concat(all) == sjson.encode(big))

e = sjson.encoder({"abcdef"})
print(e:read(0), e:read(-5), e:read(2.5), e:read("64"))

local calls = 0
e = sjson.encoder({function() calls = calls + 1 return 1 end, "pad-pad-pad",
  function() calls = calls + 1 return 2 end})
print(e:read(2), calls)
print(e:read(5), calls)
print(e:read(100), calls)
print(select("#", e:read(100)))

e = sjson.encoder({"a", {x = 1}, "b"}, {null = "b"})
local s = ""
for _ = 1, 100 do s = s .. (e:read(1) or "") end
print(s)
e = sjson.encoder({"ok", function() error("late", 0) end})
print(e:read(4))
print(perr(e.read, e, 10))
print(perr(e.read, {}, 10))
"##,
    );
    assert_lines(
        &out,
        r##"
        [1,|2,{|"a"|:"h|ell|o"}|,"x|yz"|]
        0	0
        1024 1024 1024 1024 1024 1024 757	true
        [	"	a	bcdef"]
        [1	1
        ,"pad	1
        -pad-pad",2]	2
        0
        ["a",{"x":1},null]
        ["ok
        late
        calling 'read' on bad self (sjson.encoder expected, got table)
        "##,
    );
}

// ---------------------------------------------------------------- sjson: decoding

#[test]
fn decode_values() {
    let out = lua_ok(
        "sjson-dec-values",
        r##"
local t = sjson.decode([=[{"int": 42, "neg": -7, "float": 2.5, "exp": 1e3, "negexp": -2.5E-3,
  "zero": 0, "negzero": -0, "big": 12345678901234567890, "t": true, "f": false, "n": null,
  "s": "text", "arr": [1, [2, [3]]], "obj": {"k": "v"}, "empty_arr": [], "empty_obj": {}}]=])
print(canon(t))
local s = sjson.decode([=[["\"\\\/\b\f\n\r\t", "\u0041\u00e9\u20AC", "\ud83d\ude00", "\uD83D\uDE00",
  "\ud800", "\udc00x", "\ud83dx", "\u0000", "raw é", "\u00]=] .. [=[41"]]=])
for i = 1, #s do print(esc(s[i])) end
print(canon(sjson.decode(' \t\r\n{ "a" \n:\t[ 1 , 2 ] , "b":{ } } ')))
print(canon(sjson.decode('{"a":1,"a":2}')))
print(canon(sjson.decode('[1] trailing garbage is ignored')))
print(canon(sjson.decode('{"":"", "\\u0061":"a"}')))
"##,
    );
    assert_lines(
        &out,
        r##"
        {"arr"={i1=i1,i2={i1=i2,i2={i1=i3}}},"big"=f1.2345678901234567e+19,"empty_arr"={},"empty_obj"={},"exp"=f1000,"f"=false,"float"=f2.5,"int"=i42,"n"=NULL,"neg"=i-7,"negexp"=f-0.0025000000000000001,"negzero"=i0,"obj"={"k"="v"},"s"="text","t"=true,"zero"=i0}
        "\34\92/\8\12\10\13\9"
        "A\195\169\226\130\172"
        "\240\159\152\128"
        "\240\159\152\128"
        "?"
        "?x"
        "?x"
        "\0"
        "raw \195\169"
        "A"
        {"a"={i1=i1,i2=i2},"b"={}}
        {"a"=i2}
        {i1=i1}
        {""="","a"="a"}
        "##,
    );
}

#[test]
fn decode_errors() {
    let out = lua_ok(
        "sjson-dec-errors",
        r##"
local cases = {
  '[1,]', '{"a":1,}', '[}', '{]', '{"a":1]', '{"a"}', '{"a":}', '[1 2]', '["a" "b"]',
  '{"a":1 "b":2}', '{"a" "b"}', '"abc"', '[tru]', '[truex]', '[nul', '[01]', '[1.]', '[-]',
  '[1.5.3]', '[1e]', '[+1]', '[.5]', '[1x]', '{1:2}', '{,}', '[,1]', '[:]', '["\\x"]',
  '["\\u12"]', '["\\uzzzz"]', '["a\tb"]', '["a\0b"]', 'x', '\\', '[\0]', '[\1]', '1', '1 2',
  'true', '', '   ', '[1', '{"a":[{"b":1}]', '["unterminated', '\239\187\191[1]',
}
for _, s in ipairs(cases) do print(esc(s), perr(sjson.decode, s)) end
print(perr(sjson.decode))
print(perr(sjson.decode, {}))
print(perr(sjson.decode, "[1]", {metatable = 5}))
"##,
    );
    assert_lines(
        &out,
        r##"
        "[1,]"	JSON parse error: TRAILING_COMMA
        "{\34a\34:1,}"	JSON parse error: TRAILING_COMMA
        "[}"	JSON parse error: BRACKET_MISMATCH
        "{]"	JSON parse error: BRACKET_MISMATCH
        "{\34a\34:1]"	JSON parse error: BRACKET_MISMATCH
        "{\34a\34}"	JSON parse error: VALUE_EXPECTED
        "{\34a\34:}"	JSON parse error: VALUE_EXPECTED
        "[1 2]"	JSON parse error: CANT_INSERT
        "[\34a\34 \34b\34]"	JSON parse error: CANT_INSERT
        "{\34a\34:1 \34b\34:2}"	JSON parse error: STRAY_TOKEN
        "{\34a\34 \34b\34}"	JSON parse error: MISSING_TOKEN
        "\34abc\34"	JSON parse error: STRING_OUTSIDE_CONTAINER
        "[tru]"	JSON parse error: SPECIAL_INCOMPLETE
        "[truex]"	JSON parse error: SPECIAL_EXPECTED
        "[nul"	Incomplete JSON object passed to sjson.decode
        "[01]"	JSON parse error: INVALID_NUMBER
        "[1.]"	JSON parse error: INVALID_NUMBER
        "[-]"	JSON parse error: INVALID_NUMBER
        "[1.5.3]"	JSON parse error: INVALID_NUMBER
        "[1e]"	JSON parse error: INVALID_NUMBER
        "[+1]"	JSON parse error: SPECIAL_EXPECTED
        "[.5]"	JSON parse error: SPECIAL_EXPECTED
        "[1x]"	JSON parse error: INVALID_NUMBER
        "{1:2}"	JSON parse error: HKEY_EXPECTED
        "{,}"	JSON parse error: STRAY_TOKEN
        "[,1]"	JSON parse error: STRAY_TOKEN
        "[:]"	JSON parse error: STRAY_TOKEN
        "[\34\92x\34]"	JSON parse error: ESCAPE_INVALID
        "[\34\92u12\34]"	JSON parse error: UESCAPE_TOOSHORT
        "[\34\92uzzzz\34]"	JSON parse error: UESCAPE_TOOSHORT
        "[\34a\9b\34]"	JSON parse error: WEIRD_WHITESPACE
        "[\34a\0b\34]"	JSON parse error: WEIRD_WHITESPACE
        "x"	JSON parse error: SPECIAL_EXPECTED
        "\92"	JSON parse error: ESCAPE_OUTSIDE_STRING
        "[\0]"	JSON parse error: FOUND_NULL_BYTE
        "[\1]"	JSON parse error: WEIRD_WHITESPACE
        "1"	Incomplete JSON object passed to sjson.decode
        "1 2"	JSON parse error: CANT_INSERT
        "true"	Incomplete JSON object passed to sjson.decode
        ""	Incomplete JSON object passed to sjson.decode
        "   "	Incomplete JSON object passed to sjson.decode
        "[1"	Incomplete JSON object passed to sjson.decode
        "{\34a\34:[{\34b\34:1}]"	Incomplete JSON object passed to sjson.decode
        "[\34unterminated"	Incomplete JSON object passed to sjson.decode
        "\239\187\191[1]"	JSON parse error: SPECIAL_EXPECTED
        bad argument #1 to 'decode' (string expected, got no value)
        bad argument #1 to 'decode' (string expected, got table)
        sjson: the metatable option must be a table
        "##,
    );
}

#[test]
fn decode_depth_limit() {
    // jsonsl counts every value as a level: with the default depth 20, containers nest
    // 19 deep when empty and 18 deep around a value.
    let out = lua_ok(
        "sjson-dec-depth",
        r##"
local function nested(n, inner) return string.rep("[", n) .. (inner or "") .. string.rep("]", n) end
local function try(s, opts)
  local ok, e = pcall(sjson.decode, s, opts)
  return ok and "ok" or e
end
print(try(nested(19)), try(nested(20)))
print(try(nested(18, "1")), try(nested(19, "1")), try(nested(19, '"s"')), try(nested(19, "{}")))
print(try(string.rep('{"k":', 18) .. "1" .. string.rep("}", 18)), try(string.rep('{"k":', 19) .. "1" .. string.rep("}", 19)))
print(try(nested(25), {depth = 30}), try(nested(30), {depth = 30}), try(nested(29), {depth = 30}))
print(try(nested(3), {depth = 2}), try(nested(4), {depth = 2}))
print(try(nested(999), {depth = 5000}), try(nested(1000), {depth = 5000}))
local d = sjson.decoder({depth = 6})
for i = 1, 5 do assert(d:write("[") == nil) end
print(perr(d.write, d, "["))
"##,
    );
    assert_lines(
        &out,
        "
        ok	JSON parse error: LEVELS_EXCEEDED
        ok	JSON parse error: LEVELS_EXCEEDED	JSON parse error: LEVELS_EXCEEDED	JSON parse error: LEVELS_EXCEEDED
        ok	JSON parse error: LEVELS_EXCEEDED
        ok	JSON parse error: LEVELS_EXCEEDED	ok
        ok	JSON parse error: LEVELS_EXCEEDED
        ok	JSON parse error: LEVELS_EXCEEDED
        JSON parse error: LEVELS_EXCEEDED
        ",
    );
}

#[test]
fn decode_null_handling() {
    let out = lua_ok(
        "sjson-dec-null",
        r##"
local t = sjson.decode('[1,null,3]')
print(t[2] == sjson.NULL, #t, tostring(sjson.NULL), type(sjson.NULL))
t = sjson.decode('[1,null,3]', {null = "\0"})
print(esc(t[2]))
t = sjson.decode('[1,null,3]', {})
print(t[1], t[2], t[3])
t = sjson.decode('{"a":null,"b":1}', {metatable = {}})
print(t.a, t.b)
print(sjson.decoder({null = false}):write('[null]')[1])
print(sjson.decode('{"a":null}').a == sjson.NULL)
print(sjson.encode(sjson.decode('[null,{"k":null}]')))
print(sjson.encode(sjson.decode('[null,"x"]', {null = "\0"}), {null = "\0"}))
print(sjson.NULL == require("nodemcu.sjson").NULL)
print(pcall(function() sjson.NULL.x = 1 end), next(sjson.NULL), getmetatable(sjson.NULL))
"##,
    );
    assert_lines(
        &out,
        r##"
        true	3	sjson.NULL	table
        "\0"
        1	nil	3
        nil	1
        false
        true
        [null,{"k":null}]
        [null,"x"]
        true
        false	nil	sjson.NULL
        "##,
    );
}

#[test]
fn decode_metatable_and_checkpath() {
    let out = lua_ok(
        "sjson-dec-meta",
        r##"
local log = {}
local mt = {__newindex = function(t, k, v) log[#log + 1] = tostring(k) .. "=" .. type(v) rawset(t, k, v) end}
local t = sjson.decode('[1, 2, {"foo":"bar"}, null]', {metatable = mt})
print(table.concat(log, " "))
print(getmetatable(t) == mt, getmetatable(t[3]) == mt, t[3].foo, t[4])

local paths = {}
local mt2 = {checkpath = function(tab, path)
  local p = {}
  for i, k in ipairs(path) do p[i] = math.type(k) and ("#" .. k) or k end
  paths[#paths + 1] = "/" .. table.concat(p, "/")
  return true
end}
t = sjson.decode('{ "foo": [1, 2, []], "x": {"y": {}} }', {metatable = mt2})
table.sort(paths)
print(table.concat(paths, " "), #t.foo[3], getmetatable(t.x.y) == mt2)

local mt3 = {checkpath = function(tab, path) return not (path[1] == "foo" and path[2] == "bar") end}
t = sjson.decode('{ "foo": { "bar": [1,2,3,4], "cat": [5] } }', {metatable = mt3})
print(t.foo.bar, t.foo.cat[1])
print(sjson.decode('[1]', {metatable = {checkpath = function() return false end}}))

local d = sjson.decoder({metatable = {__newindex = function(t, k, v) if k ~= "skip" then rawset(t, k, v) end end}})
d:write('{"skip": 1, ')
t = d:write('"keep": 2}')
print(t.skip, t.keep)
print(perr(sjson.decode, '[1]', {metatable = {__newindex = function() error("refused", 0) end}}))
"##,
    );
    assert_lines(
        &out,
        "
        1=number 2=number 3=table foo=string 4=nil
        true	true	bar	nil
        / /foo /foo/#3 /x /x/y	0	true
        nil	5
        nil
        nil	2
        refused
        ",
    );
}

// ---------------------------------------------------------------- sjson: streaming

#[test]
fn streaming_decoder_any_chunking() {
    let out = lua_ok(
        "sjson-stream",
        r##"
local doc = [=[ {"a": [1, -2.5e+3, true, false, null, "s\"q\\u\u00e9\ud83d\ude00", 0, -0.5],
 "b": {"c": {}, "d": []}, "key with \"escapes\"": 123456789, "long": "]=]
  .. string.rep("abc\\n\\u0041", 40) .. [=[", "nums": [12345, 678.25e-2, 9]} ]=]
local want = canon(sjson.decode(doc))
local close = #doc - 1
assert(doc:sub(close, close) == "}")
-- Feeds doc in chunks of sizes() bytes; the value must come back from the write whose
-- chunk holds the closing brace, and from every write after it.
local function feed(sizes)
  local d, pos, done_from, done_to = sjson.decoder(), 1, nil, nil
  while pos <= #doc do
    local n = sizes()
    local r = d:write(doc:sub(pos, pos + n - 1))
    if r ~= nil and not done_from then done_from, done_to = pos, pos + n - 1 end
    assert((r ~= nil) == (done_from ~= nil), "a result before the end")
    assert(done_from == nil or rawequal(r, d:result()))
    pos = pos + n
  end
  assert(canon(d:result()) == want, canon(d:result()) .. "\n" .. want)
  assert(done_from <= close and close <= done_to, "completed at the wrong chunk")
  return true
end
for _, n in ipairs({1, 2, 3, 5, 7, 11, 64, 100000}) do
  print(n, feed(function() return n end))
end
local seed = 12345
print("random", feed(function()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return 1 + seed % 9
end))

local d = sjson.decoder()
print(select("#", d:write("[1")), select("#", d:write("")), perr(d.result, d))
print(canon(d:write(",2]")), canon(d:write("garbage ]]]")), canon(d:result()))
d = sjson.decoder()
d:write("[")
d:write(12)
d:write(3.5)
print(canon(d:write("]")))
d = sjson.decoder()
d:write('[1,')
print(perr(d.write, d, ']'))
print(perr(d.write, d, '2]'))
print(perr(d.result, d))
print(perr(d.write, d, {}))
print(perr(sjson.decoder().write, 5, "x"))
d = sjson.decoder()
d:write('["a\\')
print(perr(d.write, d, 'q"]'))
d = sjson.decoder()
print(d:write('["a\\'), d:write('"'), canon(d:write('"]')))
"##,
    );
    assert_lines(
        &out,
        r##"
        1	true
        2	true
        3	true
        5	true
        7	true
        11	true
        64	true
        100000	true
        random	true
        0	0	decode not complete
        {i1=i1,i2=i2}	{i1=i1,i2=i2}	{i1=i1,i2=i2}
        {i1=f123.5}
        JSON parse error: TRAILING_COMMA
        JSON parse error: previous call
        decode not complete
        bad argument #1 to 'write' (string expected, got table)
        calling 'write' on bad self (sjson.decoder expected, got number)
        JSON parse error: ESCAPE_INVALID
        nil	nil	{i1="a\34"}
        "##,
    );
}

#[test]
fn big_documents() {
    let out = lua_ok(
        "sjson-big",
        r##"
local parts, ints, strs, floats = {}, 0, 0, 0
local i = 0
local size = 0
while size < 1048576 do
  i = i + 1
  local p
  if i % 3 == 0 then p = '"s' .. i .. '"' strs = strs + 1
  elseif i % 3 == 1 then p = tostring(i) ints = ints + i
  else p = tostring(i + 0.25) floats = floats + 1 end
  parts[i] = p
  size = size + #p + 1
end
local doc = "[" .. table.concat(parts, ",") .. "]"
local function check(t)
  assert(#t == i, #t .. " vs " .. i)
  local si, ns, nf = 0, 0, 0
  for k = 1, #t do
    local v = t[k]
    if math.type(v) == "integer" then si = si + v
    elseif type(v) == "string" then ns = ns + 1 assert(v == "s" .. k)
    else nf = nf + 1 assert(v == k + 0.25) end
  end
  assert(si == ints and ns == strs and nf == floats)
end
local t = sjson.decode(doc)
check(t)
print(#doc >= 1048576, "decoded", #t)
print("re-encoded", sjson.encode(t) == doc)
local d = sjson.decoder()
local r
for k = 1, #doc, 4096 do r = d:write(doc:sub(k, k + 4095)) end
check(r)
print("streamed 4096")
local e = sjson.encoder(t)
local chunks = {}
while true do
  local c = e:read(1500)
  if not c then break end
  chunks[#chunks + 1] = c
end
print("encoder", table.concat(chunks) == doc)
local long = string.rep("0123456789", 100000)
d = sjson.decoder()
local j = sjson.encode({long, {long}})
for k = 1, #j, 333 do r = d:write(j:sub(k, k + 332)) end
print("long strings", r[1] == long, r[2][1] == long)
"##,
    );
    assert_lines(
        &out,
        "
        true	decoded	128854
        re-encoded	true
        streamed 4096
        encoder	true
        long strings	true	true
        ",
    );
}

#[test]
fn cross_check_with_python_json() {
    let dir = TempDir::new("sjson-python");
    let generate = r##"
import json
obj = {
    "ints": [0, 1, -1, 2**31, -2**31, 2**53, 2**63 - 1, -2**63],
    "floats": [0.1, 0.5, 1/3, 1e300, -2.5e-308, 1e-7, 123.456, 6.02214076e23, 3.0, -0.0],
    "strings": ["plain", "quote\" back\\ slash/", "ctl \u0000\u0001\u001f\b\f\n\r\t\u007f",
                "latin é ñ", "cjk 漢字", "emoji 😀 🎉", "mixed \u2028\u2029 end", ""],
    "nested": {"a": {"b": {"c": [True, False, None, [[[]]]]}}},
    "mixed": [1, "two", 3.5, None, [], {"k": "v", "n": None}],
    "unicode key é😀": "value",
}
json.dump(obj, open("ascii.json", "w"), ensure_ascii=True)
open("utf8.json", "w", encoding="utf-8").write(json.dumps(obj, ensure_ascii=False, indent=2))
big = [{"id": i, "name": "item %d \u00e9" % i, "score": i * 0.75, "tags": ["t%d" % (i % 7)] * (i % 4),
        "ok": i % 2 == 0, "none": None} for i in range(12000)]
json.dump(big, open("big.json", "w"))
ids = sum(d["id"] for d in big)
tags = sum(len(d["tags"]) for d in big)
print(len(big), ids, tags, sum(1 for d in big if d["ok"]), round(sum(d["score"] for d in big), 6))
"##;
    let Some(summary) = python(dir.path(), generate) else { return };
    let out = run_script(
        &dir,
        r##"
local function slurp(name) local f = assert(io.open(name, "rb")) local s = f:read("a") f:close() return s end
local a = sjson.decode(slurp("ascii.json"))
local u = sjson.decode(slurp("utf8.json"))
print("same", canon(a) == canon(u))
local d = sjson.decoder()
local text = slurp("ascii.json")
for k = 1, #text, 7 do d:write(text:sub(k, k + 6)) end
print("streamed", canon(d:result()) == canon(a))
local f = assert(io.open("lua.json", "wb")) f:write(sjson.encode(a)) f:close()
local big = sjson.decode(slurp("big.json"))
local ids, tags, oks, score = 0, 0, 0, 0
for _, v in ipairs(big) do
  ids = ids + v.id
  tags = tags + #v.tags
  if v.ok then oks = oks + 1 end
  score = score + v.score
  assert(v.none == sjson.NULL and v.name == "item " .. v.id .. " \195\169")
end
print(#big, ids, tags, oks, (string.format("%.6f", score):gsub("0+$", ""):gsub("%.$", ".0")))
f = assert(io.open("big_lua.json", "wb")) f:write(sjson.encode(big)) f:close()
"##,
    );
    out.assert_code(0);
    assert!(out.stderr.is_empty(), "{}", out.describe());
    let lines = out.stdout_lines();
    assert_eq!(lines[0], "same\ttrue", "{}", out.describe());
    assert_eq!(lines[1], "streamed\ttrue", "{}", out.describe());
    let lua_summary = lines[2].replace('\t', " ");
    assert_eq!(lua_summary.split_whitespace().take(5).collect::<Vec<_>>().join(" "), summary.trim());
    let cmp = r##"
import json
orig = json.load(open("ascii.json"))
mine = json.load(open("lua.json", encoding="utf-8"))
assert mine == orig, (mine, orig)
assert json.load(open("big_lua.json", encoding="utf-8")) == json.load(open("big.json"))
print("equal")
"##;
    assert_eq!(python(dir.path(), cmp).as_deref(), Some("equal\n"));
}

#[test]
fn uncaught_errors_name_the_calling_line() {
    let dir = TempDir::new("sjson-uncaught");
    let run = |chunk: &str| Run::rlua().cwd(dir.path()).args(["--dialect", "nodemcu", "-e", chunk]).run();
    let out = run("local t = sjson.decode('[1,]')");
    out.assert_code(1);
    assert_eq!(out.stderr_first_line(), "rlua-net: (command line):1: JSON parse error: TRAILING_COMMA");
    let out = run("local x = 1\nlocal s = sjson.encode({1, {}}, {depth = 1}) .. sjson.encode({0/0})");
    out.assert_code(1);
    assert!(
        out.stderr_first_line().starts_with("rlua-net: (command line):2: Cannot encode non-finite number"),
        "{}",
        out.describe()
    );
    let out = run("local d = sjson.decoder()\nd:write('[')\nd:write('}')");
    out.assert_code(1);
    assert_eq!(out.stderr_first_line(), "rlua-net: (command line):3: JSON parse error: BRACKET_MISMATCH");
    let out = run("local v = bit.band(1, 'x')");
    out.assert_code(1);
    assert_eq!(
        out.stderr_first_line(),
        "rlua-net: (command line):1: bad argument #2 to 'band' (number expected, got string)"
    );
}

// ---------------------------------------------------------------- bit

#[test]
fn bit_edge_values() {
    let out = lua_ok(
        "bit-edges",
        r##"
print(bit.bnot(0), bit.bnot(-1), bit.bnot(0xFFFFFFFF), bit.bnot(0x80000000), bit.bnot(0x7FFFFFFF))
print(bit.band(0xFFFFFFFF, 0xFFFFFFFF), bit.band(-1, 0xFF), bit.band(0x12345678, 0xFF00, 0xF000), bit.band(7))
print(bit.bor(0x80000000, 1), bit.bor(1, 2, 4, 8), bit.bor(0, 0), bit.bor(0xFFFFFFFF, 0))
print(bit.bxor(-1, 0x0F0F0F0F), bit.bxor(0xFFFFFFFF, 0x80000000), bit.bxor(5, 3, 1))
print(bit.lshift(1, 0), bit.lshift(1, 31), bit.lshift(1, 32), bit.lshift(3, 31), bit.lshift(-1, 1), bit.lshift(1, -1))
print(bit.rshift(-1, 0), bit.rshift(-1, 1), bit.rshift(0x80000000, 31), bit.rshift(0x80000000, 32), bit.rshift(-1, 31))
print(bit.arshift(-8, 1), bit.arshift(0x80000000, 31), bit.arshift(0x80000000, 32), bit.arshift(0x7FFFFFFF, 31),
  bit.arshift(-1, 31), bit.arshift(0xFFFFFFFF, 4), bit.arshift(256, 4))
print(bit.bit(0), bit.bit(31), bit.bit(32), bit.bit(5), bit.bit(33))
print(bit.isset(-1, 31), bit.isset(0x80000000, 31), bit.isset(0, 0), bit.isset(5, 2), bit.isset(1, 32))
print(bit.isclear(0, 31), bit.isclear(5, 2), bit.isclear(5, 1), bit.isclear(0xFFFFFFFF, 31))
print(bit.set(0, 0, 1, 31), bit.set(0), bit.set(0x7FFFFFFF, 31), bit.set(1, 32))
print(bit.clear(-1, 31), bit.clear(0xFF, 0, 7), bit.clear(0x80000000, 31), bit.clear(3, 32))
print(bit.band(0x1FFFFFFFF, -1), bit.bor(2^32, 0), bit.band("12", 4.0), bit.bor(" 0x10 ", 1))
print(math.type(bit.band(1, 1)), math.type(bit.bor(1.0, 2.0)), math.type(bit.bnot(0)))
print(perr(bit.band, "x", 1))
print(perr(bit.band))
print(perr(bit.lshift, 1))
print(perr(bit.bor, 1.5, 1))
print(perr(bit.bor, 1, "1.5"))
print(perr(bit.bxor, 1, {}))
print(perr(bit.isset, 1, nil))
print(perr(bit.set, 0, 1, true))
print(perr(bit.bnot, 2^63))
"##,
    );
    assert_lines(
        &out,
        "
        -1	0	0	2147483647	-2147483648
        -1	255	20480	7
        -2147483647	15	0	-1
        -252645136	2147483647	7
        1	-2147483648	1	-2147483648	-2	-2147483648
        -1	2147483647	1	-2147483648	1
        -4	-1	-2147483648	0	-1	-1	16
        1	-2147483648	1	32	2
        true	true	false	true	true
        true	false	true	false
        -2147483645	0	-1	1
        2147483647	126	0	2
        -1	0	4	17
        integer	integer	integer
        bad argument #1 to 'band' (number expected, got string)
        bad argument #1 to 'band' (number expected, got no value)
        bad argument #2 to 'lshift' (number expected, got no value)
        bad argument #1 to 'bor' (number has no integer representation)
        bad argument #2 to 'bor' (number has no integer representation)
        bad argument #2 to 'bxor' (number expected, got table)
        bad argument #2 to 'isset' (number expected, got nil)
        bad argument #3 to 'set' (number expected, got boolean)
        bad argument #1 to 'bnot' (number has no integer representation)
        ",
    );
}

#[test]
fn globals_are_the_modules() {
    let out = lua_ok(
        "sjson-bit-globals",
        r##"
print(type(sjson.encode), type(sjson.decode), type(sjson.decoder), type(sjson.encoder), type(bit.band))
print(sjson.NULL == require("nodemcu.sjson").NULL, bit.bxor == require("nodemcu.bit").bxor)
print(tostring(sjson.decoder()):match("^sjson%.decoder: ") ~= nil, tostring(sjson.encoder({})):match("^sjson%.encoder: ") ~= nil)
"##,
    );
    assert_lines(
        &out,
        "
        function	function	function	function	function
        true	true
        true	true
        ",
    );
}
