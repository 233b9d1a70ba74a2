// Each construct of the Jinja subset, with outputs Python's Jinja2 3.1.6 gives
// for the same template under Hugging Face's settings (trim_blocks,
// lstrip_blocks; checked when these cases were written), then every error and
// sandbox limit.
#include <gtest/gtest.h>

#include "chat/template_error.h"
#include "chat_test_util.h"

namespace tessera {
namespace {

using test::render;

struct Case {
  const char* source;
  const char* expected;
};

// Templates without messages: literals, operators, statements, filters, tests, methods.
const Case kCases[] = {
    // output, literals, whitespace control
    {R"({{ 'a' }}{{ "b" }}{{ 1 }}{{ 1.5 }}{{ true }}{{ none }}{{ [1, 'x'] }}{{ {'k': 'v'} }})", R"(ab11.5TrueNone[1, 'x']{'k': 'v'})"},
    {"a  {{- 'b' -}}  c", "abc"},
    {"a\n  {% if true %}\n  x\n  {% endif %}\nb", "a\n  x\nb"},
    {"a {%- if true %} x {% endif -%} b", "a x b"},
    {"x\n{# a comment #}\ny\n", "x\ny"},
    {"  {%+ if true %}k{% endif %}", "  k"},
    {"{{ 'a\\nb\\t\\'q\\'' }}", "a\nb\t'q'"},
    {"{{ 1e-05 }} {{ 1e16 }} {{ 1.5e300 }} {{ 0.1 + 0.2 }} {{ 2.0 }} {{ [1.0, 'it\\'s'] }}", "1e-05 1e+16 1.5e+300 0.30000000000000004 2.0 [1.0, \"it's\"]"},
    // arithmetic and comparison
    {"{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }}", "3 -4 2 3.5 1024 7 9"},
    {"{{ 'ab' ~ 1 ~ none }} {{ 'x' * 3 }} {{ [1] + [2] }} {{ 'a' + 'b' }}", "ab1None xxx [1, 2] ab"},
    {"{{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 2 < 3 }} {{ 'b' >= 'a' }} {{ [1, 2] == [1, 2] }}", "True True True True True"},
    {"{{ 'el' in 'hello' }} {{ 3 not in [1, 2] }} {{ 'k' in {'k': 1} }}", "True True True"},
    {"{{ true and 'x' }} {{ false or 'y' }} {{ not none }} {{ 0 or '' or 'z' }}", "x y True z"},
    {"{{ 'y' if 1 > 0 else 'n' }}{{ 'y' if 0 else 'n' }}[{{ 'y' if false }}]", "yn[]"},
    // subscripts, slices, attributes
    {"{% set xs = [1, 2, 3, 4] %}{{ xs[0] }}{{ xs[-1] }}{{ xs[1:] }}{{ xs[:-1] }}{{ xs[::-1] }}{{ xs[::2] }}",
     "14[2, 3, 4][1, 2, 3][4, 3, 2, 1][1, 3]"},
    {"{% set d = {'a': {'b': 'c'}} %}{{ d.a.b }}{{ d['a']['b'] }}{{ d.missing is defined }}", "ccFalse"},
    {"{{ 'hello'[1:3] }}{{ 'hello'[-1] }}{{ 'héllo'[1] }}", "elo\xC3\xA9"},
    // if / for / set / namespace / macro
    {"{% if 0 %}a{% elif 1 %}b{% else %}c{% endif %}", "b"},
    {"{% filter upper %}ab{{ 'c' }}{% endfilter %}|{%- filter trim -%}\n  x  \n{%- endfilter %}", "ABC|x"},
    {"{% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}",
     "10TrueFalse3|21FalseFalse3|32FalseTrue3|"},
    {"{% for x in [] %}a{% else %}empty{% endfor %}", "empty"},
    {"{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;"},
    {"{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}", "ba"},
    {"{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{{ loop.length }}{% endfor %}", "2242"},
    {"{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
     "13"},
    {"{% for x in [1, 2] %}{{ loop.cycle('a', 'b') }}{{ loop.previtem is defined }}{% endfor %}", "aFalsebTrue"},
    {"{% set x = 5 %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{% endfor %}{{ x }}", "[5][5]5"},
    {"{% set ns = namespace(n=0, s='') %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "3"},
    {"{% set ns = namespace() %}{% set ns.found = true %}{{ ns.found }}", "True"},
    {"{% set t %}in {{ 'block' }}{% endset %}{{ t | upper }}", "IN BLOCK"},
    {"{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }}",
     "Hi A! Hi B?"},
    {"{{ range(3) | list }}{{ range(1, 7, 2) | list }}{{ range(3, 0, -1) | list }}", "[0, 1, 2][1, 3, 5][3, 2, 1]"},
    {"{{ dict(a=1, b='x') }}", "{'a': 1, 'b': 'x'}"},
    // tests
    {"{{ x is defined }}{{ x is undefined }}{{ none is none }}{{ 'a' is string }}{{ 1 is number }}{{ 1.5 is float }}",
     "FalseTrueTrueTrueTrueTrue"},
    {"{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is sequence }}{{ true is true }}{{ false is false }}{{ 1 is true }}",
     "TrueTrueTrueTrueTrueFalse"},
    {"{{ 3 is equalto 3 }}{{ 3 is eq(4) }}{{ 4 is divisibleby 2 }}{{ 3 is odd }}{{ 'x' is not none }}{{ 2 is in [1, 2] }}",
     "TrueFalseTrueTrueTrueTrue"},
    // filters
    {"{{ '  x  ' | trim }}|{{ 'ab' | upper }}{{ 'AB' | lower }}|{{ 'hello world' | capitalize }}|{{ \"they're here-now\" | title }}",
     "x|ABab|Hello world|They're Here-Now"},
    {"{{ [1, 2, 3] | length }}{{ 'héllo' | length }}{{ {'a': 1} | length }}{{ [3, 4] | first }}{{ [3, 4] | last }}", "35134"},
    {"{{ [1, 'a', none] | join(', ') }}|{{ 'a-b-a' | replace('a', 'x') }}|{{ 'abc' | list }}|{{ 42 | string }}", "1, a, None|x-b-x|['a', 'b', 'c']|42"},
    {"{{ '12' | int + 1 }}{{ 'x' | int }}{{ 3.9 | int }}{{ '2.5' | float }}{{ 7 | float }}", "13032.57.0"},
    {"{{ x | default('d') }}{{ '' | default('e', true) }}{{ 'v' | default('f') }}{{ none | default('g') }}", "devNone"},
    {"{{ {'a': 1, 'b': [1, 2.5, none, true]} | tojson }}", R"({"a": 1, "b": [1, 2.5, null, true]})"},
    {"{{ {'a': 'q\"é\\n', 'b': {}} | tojson(indent=2) }}", "{\n  \"a\": \"q\\\"é\\n\",\n  \"b\": {}\n}"},
    {"{{ {'b': 1, 'a': 2} | items | list | tojson }}", R"([["b", 1], ["a", 2]])"},
    {"{% set m = [{'r': 'u', 'n': 1}, {'r': 'a', 'n': 2}, {'r': 'u', 'n': 3}] %}{{ m | selectattr('r', 'equalto', 'u') | map(attribute='n') | list }}"
     "{{ m | rejectattr('r', 'equalto', 'u') | map(attribute='n') | list }}{{ m | map(attribute='r') | join }}",
     "[1, 3][2]uau"},
    {"{{ [3, 1, 2] | sort }}{{ [1, 2] | reverse | list }}{{ [1, 1, 2] | unique | list }}{{ -3 | abs }}{{ 2.567 | round(2) }}",
     "[1, 2, 3][2, 1][1, 2]32.57"},
    {"{{ 'a\\nb' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}", "a\n  b|  a\n  b"},
    // string and dict methods
    {"{{ '  x '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  x'.lstrip() }}|{{ 'x  '.rstrip() }}|", "x|a|x|x|"},
    {"{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x', 'c')) }}{{ 'a b  c'.split() }}{{ 'a,b'.split(',') }}",
     "TrueTrue['a', 'b', 'c']['a', 'b']"},
    {"{{ 'ab'.upper() }}{{ 'AB'.lower() }}{{ 'a-b'.replace('-', '+') }}{{ \"they're 1st\".title() }}{{ ', '.join(['a', 'b']) }}",
     "ABaba+bThey'Re 1Sta, b"},
    {"{% set d = {'a': 1} %}{{ d.get('a') }}{{ d.get('z') }}{{ d.get('z', 2) }}{{ d.keys() | list }}{{ d.values() | list }}{{ d.items() | list | tojson }}",
     "1None2['a'][1][[\"a\", 1]]"},
};

TEST(ChatInterpreter, Constructs) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.source);
    EXPECT_EQ(render(c.source), c.expected);
  }
}

// Hugging Face's environment adds {% generation %} (it marks the assistant's
// text for training masks) and renders its body unchanged.
TEST(ChatInterpreter, GenerationTagRendersItsBody) {
  EXPECT_EQ(render("a{% generation %}kept{% endgeneration %}b"), "akeptb");
}

TEST(ChatInterpreter, Messages) {
  EXPECT_EQ(render("{{ messages | length }}{{ messages[0].role }}{{ messages[-1]['content'] }}", true), "6systemAnother question");
  EXPECT_EQ(render("{% for m in messages[1:3] %}{{ m.role }};{% endfor %}", true), "user;assistant;");
  EXPECT_EQ(render("{{ add_generation_prompt }}{{ bos_token }}{{ tools is none }}{{ date_string is defined }}"), "TrueTrueFalse");
  EXPECT_EQ(render("{{ strftime_now('%Y-%m-%d') }}"), "2024-07-26");
  EXPECT_EQ(render("{{ messages[0]['content'] | tojson }}", true), R"("You are a helpful assistant")");
}

TEST(ChatInterpreter, SystemMessagesFoldIntoTheUserTurnWhenTheTemplateShowsNone) {
  const std::string src = "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system') }}{% endif %}"
                          "<{{ m.role }}>{{ m.content }}{% endfor %}";
  const chat::ChatTemplate t(src);
  EXPECT_FALSE(t.supports_system_role());
  chat::Conversation c;
  c.messages = {{"system", "S1"}, {"system", "S2"}, {"user", "U"}, {"assistant", "A"}};
  EXPECT_EQ(t.render(c), "<user>S1\nS2\nU<assistant>A");
  EXPECT_THROW(t.render_raw(c), chat::TemplateError);
  EXPECT_TRUE(chat::ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}").supports_system_role());
}

// What a template did wrong comes back as one TemplateError naming it and where.
void expect_error(const std::string& source, const std::string& fragment, const chat::Limits& limits = {}) {
  SCOPED_TRACE(source);
  try {
    render(source, true, limits);
    ADD_FAILURE() << "no error; expected one mentioning: " << fragment;
  } catch (const chat::TemplateError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
    EXPECT_EQ(what.rfind("chat template: ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(ChatInterpreter, SyntaxErrorsNameThePosition) {
  expect_error("{{ 'a' ", "line 1, column 1: a tag is not closed");
  expect_error("ok\n  {% if x %}a", "line 2, column 6: a block is not closed: '{% endif %}' is missing");
  expect_error("{{ 'abc }}", "a string is not closed");
  expect_error("{# open", "a comment is not closed");
  expect_error("{% for x in xs %}{% endif %}", "unknown or unsupported tag 'endif'");
  expect_error("{% include 'file.txt' %}", "unknown or unsupported tag 'include'");
  expect_error("{{ 1 + }}", "expected a value");
  expect_error("{{ a b }}", "line 1, column 6: unexpected 'b' in a tag");
  expect_error("{{ $ }}", "unexpected character '$'");
  expect_error("{% for x in xs recursive %}{% endfor %}", "recursive loops are not supported");
  expect_error("{{ 99999999999999999999 }}", "too large");
}

TEST(ChatInterpreter, RuntimeErrorsNameWhatAndWhere) {
  expect_error("line\n{{ foo | frobnicate }}", "line 2, column 8: unknown filter 'frobnicate'");
  expect_error("{{ 1 is frob }}", "unknown test 'frob'");
  expect_error("{{ frob(1) }}", "line 1, column 8: unknown function 'frob'");
  expect_error("{{ 'x'.frob() }}", "unknown method 'frob' of a string");
  expect_error("{{ raise_exception('Roles must alternate') }}", "the template raised an error: Roles must alternate");
  expect_error("{{ missing.attr }}", "'missing' is undefined: cannot read its attribute 'attr'");
  expect_error("{{ missing + 1 }}", "'missing' is undefined");
  expect_error("{{ 'a' + 1 }}", "cannot apply '+' to a string and a integer");
  expect_error("{{ 1 // 0 }}", "division by zero");
  expect_error("{{ 9223372036854775807 + 1 }}", "integer overflow");
  expect_error("{% for x in 5 %}{% endfor %}", "for: cannot walk a value of type integer");
  expect_error("{% set x = 1 %}{% set x.a = 2 %}", "only a namespace() takes attributes");
  expect_error("{{ messages[0].content.append(1) }}", "unknown method 'append'");
  expect_error("{% break %}", "'break' or 'continue' outside a loop");
  expect_error("{{ [1][::0] }}", "slice step cannot be zero");
  expect_error("{{ x | tojson }}", "tojson: cannot encode an undefined value");
}

TEST(ChatInterpreter, SandboxLimits) {
  chat::Limits small;
  small.max_template_bytes = 64;
  expect_error(std::string(65, 'x'), "the template is 65 bytes, more than the limit of 64", small);

  chat::Limits out;
  out.max_output_bytes = 1000;
  expect_error("{% for i in range(100) %}0123456789-{% endfor %}", "the output exceeds the limit of 1000 bytes", out);
  expect_error("{{ 'x' * 100000 }}", "exceeds the output limit of 1000 bytes", out);
  expect_error("{% set ns = namespace(s='x') %}{% for i in range(20) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
               "exceeds the output limit", out);

  chat::Limits loops;
  loops.max_loop_iterations = 1000;
  expect_error("{% for i in range(10) %}{% for j in range(200) %}{% endfor %}{% endfor %}",
               "loops ran more than the limit of 1000 iterations", loops);
  expect_error("{{ range(100000) | length }}", "loops ran more than the limit of 1000 iterations", loops);

  expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "evaluation nested deeper than");
  expect_error("{{ " + std::string(200, '(') + "1" + std::string(200, ')') + " }}", "nests tags or expressions deeper than 64");
  std::string chain = "{{ 1";
  for (int i = 0; i < 300; ++i) chain += " + 1";
  expect_error(chain + " }}", "an expression is nested more than 256 deep");
  std::string ifs;
  for (int i = 0; i < 70; ++i) ifs += "{% if true %}";
  expect_error(ifs, "nests tags or expressions deeper than 64");
  expect_error("{% set ns = namespace(x=[]) %}{% for i in range(40) %}{% set ns.x = [ns.x] %}{% endfor %}",
               "lists and dicts nested more than 32 deep");
  expect_error("{% set ns = namespace() %}{% set ns.me = ns %}", "a namespace cannot be stored inside another");

  chat::Limits work;
  work.max_work = 100000;
  expect_error("{% for i in range(100000) %}{% endfor %}", "units of work", work);
}

}  // namespace
}  // namespace tessera
