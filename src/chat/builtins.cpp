#include "chat/builtins.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <initializer_list>

#include "chat/interpreter.h"
#include "chat/template_error.h"
#include "chat/utf8_text.h"

namespace tessera::chat {
namespace {

// str(v), refused past the output limit.
std::string text(Interpreter& in, const Value& v) { return to_str(v, in.limits().max_output_bytes); }

bool same(Interpreter& in, const Value& a, const Value& b) {
  size_t work = 0;
  const bool r = equals(a, b, &work);
  in.charge(work);
  return r;
}

// What reading a value costs before a filter, test or method works on it.
size_t read_cost(const Value& v) {
  if (v.is_string()) return v.as_string().size();
  if (v.is_array()) return v.as_array().size() * sizeof(Value);
  if (v.is_object()) return v.as_object().items.size() * 64;
  return 1;
}

// One call's arguments by position or keyword, with the callee's name for errors.
class Args {
 public:
  Args(CallArgs& a, std::string what) : a_(a), what_(std::move(what)) {}

  // Argument `index` (0-based, after the value a filter or test applies to), or by keyword.
  const Value* find(size_t index, const char* name) const {
    if (index < a_.positional.size()) return &a_.positional[index];
    for (const auto& [k, v] : a_.named)
      if (k == name) return &v;
    return nullptr;
  }
  Value get(size_t index, const char* name, Value fallback = Value::none()) const {
    const Value* v = find(index, name);
    return v && !v->is_undefined() ? *v : fallback;
  }
  std::string str(size_t index, const char* name, std::string fallback = {}) const {
    const Value* v = find(index, name);
    if (!v || v->is_none() || v->is_undefined()) return fallback;
    if (!v->is_string()) fail(std::string("argument '") + name + "' must be a string, not a " + v->type_name());
    return v->as_string();
  }
  std::string required_str(size_t index, const char* name) const {
    if (!find(index, name)) fail(std::string("needs the argument '") + name + "'");
    return str(index, name);
  }
  int64_t integer(size_t index, const char* name, int64_t fallback) const {
    const Value* v = find(index, name);
    if (!v || v->is_none() || v->is_undefined()) return fallback;
    if (!v->is_int()) fail(std::string("argument '") + name + "' must be an integer, not a " + v->type_name());
    return v->as_int();
  }
  bool boolean(size_t index, const char* name, bool fallback) const {
    const Value* v = find(index, name);
    return v ? v->truthy() : fallback;
  }
  // At most n positional arguments, and keywords only among `names`.
  void allow(size_t n, std::initializer_list<const char*> names = {}) const {
    if (a_.positional.size() > n)
      fail("takes at most " + std::to_string(n) + " argument" + (n == 1 ? "" : "s") + ", " +
           std::to_string(a_.positional.size()) + " given");
    for (const auto& kv : a_.named) {
      bool ok = false;
      for (const char* k : names) ok = ok || kv.first == k;
      if (!ok) fail("has no argument '" + kv.first + "'");
    }
  }
  const std::vector<Value>& positional() const { return a_.positional; }
  [[noreturn]] void fail(const std::string& why) const { throw TemplateError(what_ + ": " + why); }

 private:
  CallArgs& a_;
  std::string what_;
};

bool py_space(std::string_view c) {
  return c.size() == 1 && (c[0] == ' ' || (c[0] >= '\t' && c[0] <= '\r') || (c[0] >= '\x1c' && c[0] <= '\x1f'));
}

// str.strip / lstrip / rstrip: whitespace, or any of `chars` (characters, not a prefix).
std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
  const bool ws = chars.is_none() || chars.is_undefined();
  if (!ws && !chars.is_string()) throw TemplateError("strip: the characters must be a string");
  auto strip_it = [&](std::string_view c) {
    if (ws) return py_space(c);
    const std::string& set = chars.as_string();
    for (size_t i = 0; i < set.size(); i += utf8_length_at(set, i))
      if (std::string_view(set).substr(i, utf8_length_at(set, i)) == c) return true;
    return false;
  };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && strip_it(std::string_view(s).substr(b, utf8_length_at(s, b)))) b += utf8_length_at(s, b);
  if (right)
    while (e > b) {
      size_t c = e - 1;  // the start of the last character
      while (c > b && (static_cast<unsigned char>(s[c]) & 0xC0) == 0x80 && e - c < 4) --c;
      if (utf8_length_at(s, c) != e - c) c = e - 1;  // a malformed tail byte counts alone
      if (!strip_it(std::string_view(s).substr(c, e - c))) break;
      e = c;
    }
  return s.substr(b, e - b);
}

std::string ascii_upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) & 0x80); }

// Python's str.title(): a letter after a non-letter is upper case, other letters lower.
std::string python_title(const std::string& s) {
  std::string out = s;
  bool prev_letter = false;
  for (char& c : out) {
    const bool letter = is_letter(c);
    if (letter && !(static_cast<unsigned char>(c) & 0x80))
      c = static_cast<char>(prev_letter ? std::tolower(static_cast<unsigned char>(c)) : std::toupper(static_cast<unsigned char>(c)));
    prev_letter = letter;
  }
  return out;
}

// Jinja2's title filter: words begin after spaces, '-', '(', '{', '[' or '<'.
std::string jinja_title(const std::string& s) {
  std::string out;
  bool word_start = true;
  for (const char c : s) {
    const bool sep = std::isspace(static_cast<unsigned char>(c)) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) out += c;
    else out += static_cast<char>(word_start ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
    word_start = sep;
  }
  return out;
}

std::string capitalize(const std::string& s) {
  std::string out = ascii_lower(s);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string replace_all(Interpreter& in, const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  std::string out;
  size_t i = 0;
  int64_t done = 0;
  if (from.empty()) {  // Python inserts `to` between characters and at both ends
    in.charge(s.size() * 64);
    for (const std::string& c : utf8_chars(s)) {
      if (count < 0 || done < count) out += to, ++done;
      out += c;
      in.check_string_size(out.size());
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  for (;;) {
    const size_t j = (count >= 0 && done >= count) ? std::string::npos : s.find(from, i);
    if (j == std::string::npos) break;
    out.append(s, i, j - i);
    out += to;
    in.check_string_size(out.size());
    i = j + from.size();
    ++done;
  }
  out.append(s, i, std::string::npos);
  return out;
}

Value split(Interpreter& in, const std::string& s, const Value& sep, int64_t maxsplit) {
  Array parts;
  if (sep.is_none() || sep.is_undefined()) {  // runs of whitespace; no empty parts
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
        size_t e = s.size();
        while (e > i && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
        parts.emplace_back(s.substr(i, e - i));
        break;
      }
      size_t j = i;
      while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      parts.emplace_back(s.substr(i, j - i));
      i = j;
    }
    return in.array_result(std::move(parts));
  }
  if (!sep.is_string()) throw TemplateError("split: the separator must be a string");
  const std::string& d = sep.as_string();
  if (d.empty()) throw TemplateError("split: empty separator");
  size_t i = 0;
  for (;;) {
    const size_t j = (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) ? std::string::npos : s.find(d, i);
    if (j == std::string::npos) break;
    parts.emplace_back(s.substr(i, j - i));
    i = j + d.size();
  }
  parts.emplace_back(s.substr(i));
  return in.array_result(std::move(parts));
}

// str.startswith / endswith with a string or a list of them.
bool affix(const std::string& s, const Value& what, bool start) {
  auto one = [&](const Value& p) {
    if (!p.is_string()) throw TemplateError(std::string(start ? "startswith" : "endswith") + ": needs a string");
    const std::string& x = p.as_string();
    return x.size() <= s.size() && (start ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0);
  };
  if (what.is_array()) {
    for (const Value& p : what.as_array())
      if (one(p)) return true;
    return false;
  }
  return one(what);
}

Array items_of(Interpreter& in, const Value& v, const char* what) {
  if (!v.is_object()) throw TemplateError(std::string(what) + ": needs a dict, not a " + v.type_name());
  Array out;
  for (const auto& [k, x] : v.as_object().items) out.push_back(in.array_result({Value(k), x}));
  return out;
}

// The items of a list, the keys of a dict, the characters of a string.
Array sequence(Interpreter& in, const Value& v, const char* what) {
  if (v.is_string()) in.charge(v.as_string().size() * 64);  // a value per character
  if (v.is_object()) in.charge(v.as_object().items.size() * 64);
  return iteration_items(v, what);
}

// An item's attribute for selectattr / map / sort / join: a dict key, dotted paths allowed.
Value attribute_of(const Value& item, const std::string& path) {
  Value v = item;
  size_t i = 0;
  while (i <= path.size()) {
    const size_t j = std::min(path.find('.', i), path.size());
    const std::string key = path.substr(i, j - i);
    if (v.is_object()) {
      const Value* x = v.as_object().find(key);
      v = x ? *x : Value::undefined(key);
    } else if (size_t k = 0; v.is_array() && !key.empty() &&
               std::from_chars(key.data(), key.data() + key.size(), k).ptr == key.data() + key.size()) {
      v = k < v.as_array().size() ? v.as_array()[k] : Value::undefined(key);
    } else {
      return Value::undefined(key);
    }
    i = j + 1;
  }
  return v;
}

int order(const Value& a, const Value& b, bool case_sensitive) {
  if (a.is_number() && b.is_number()) return a.as_number() < b.as_number() ? -1 : a.as_number() > b.as_number();
  if (a.is_string() && b.is_string()) {
    const std::string x = case_sensitive ? a.as_string() : ascii_lower(a.as_string());
    const std::string y = case_sensitive ? b.as_string() : ascii_lower(b.as_string());
    return x < y ? -1 : x > y;
  }
  throw TemplateError(std::string("sort: cannot order a ") + a.type_name() + " and a " + b.type_name());
}

int64_t parse_int(const std::string& s, bool& ok) {
  std::string t = strip(s, Value::none(), true, true);
  int64_t v = 0;
  const char* b = t.data() + (!t.empty() && t[0] == '+' ? 1 : 0);
  const auto r = std::from_chars(b, t.data() + t.size(), v);
  ok = !t.empty() && r.ec == std::errc() && r.ptr == t.data() + t.size();
  return v;
}

Value select(Interpreter& in, const Value& v, CallArgs& a, bool by_attribute, bool keep, const char* what) {
  if (!v.truthy()) return in.array_result({});  // Jinja2 selects nothing from none, as from []
  const Array items = sequence(in, v, what);
  if (by_attribute && a.positional.empty()) throw TemplateError(std::string(what) + ": needs an attribute name");
  const size_t first_test = by_attribute ? 1 : 0;
  std::string attr;
  if (by_attribute) {
    if (!a.positional[0].is_string()) throw TemplateError(std::string(what) + ": the attribute name must be a string");
    attr = a.positional[0].as_string();
  }
  std::string test;
  if (a.positional.size() > first_test) {
    if (!a.positional[first_test].is_string()) throw TemplateError(std::string(what) + ": the test name must be a string");
    test = a.positional[first_test].as_string();
  }
  CallArgs test_args;
  for (size_t k = first_test + 1; k < a.positional.size(); ++k) test_args.positional.push_back(a.positional[k]);
  Array out;
  for (const Value& item : items) {
    in.count_iterations(1);
    const Value x = by_attribute ? attribute_of(item, attr) : item;
    CallArgs ta = test_args;
    const bool pass = test.empty() ? x.truthy() : apply_test(in, test, x, ta);
    if (pass == keep) out.push_back(item);
  }
  return in.array_result(std::move(out));
}

}  // namespace

Value apply_filter(Interpreter& in, const std::string& name, const Value& v, CallArgs& call) {
  const Args a(call, "filter '" + name + "'");
  in.charge(read_cost(v));
  if (name == "trim") {
    a.allow(1, {"chars"});
    return in.string_result(strip(text(in, v), a.get(0, "chars"), true, true));
  }
  if (name == "upper") return a.allow(0), in.string_result(ascii_upper(text(in, v)));
  if (name == "lower") return a.allow(0), in.string_result(ascii_lower(text(in, v)));
  if (name == "capitalize") return a.allow(0), in.string_result(capitalize(text(in, v)));
  if (name == "title") return a.allow(0), in.string_result(jinja_title(text(in, v)));
  if (name == "string") return a.allow(0), in.string_result(text(in, v));
  if (name == "safe") return a.allow(0), v;
  if (name == "length" || name == "count") {
    a.allow(0);
    if (v.is_string()) return Value(static_cast<int64_t>(utf8_count(v.as_string())));
    if (v.is_array()) return Value(static_cast<int64_t>(v.as_array().size()));
    if (v.is_object()) return Value(static_cast<int64_t>(v.as_object().items.size()));
    if (v.is_undefined()) return Value(int64_t{0});
    a.fail(std::string("a ") + v.type_name() + " has no length");
  }
  if (name == "tojson") {
    a.allow(1, {"indent", "ensure_ascii", "separators", "sort_keys"});
    if (a.boolean(99, "ensure_ascii", false) || a.boolean(99, "sort_keys", false) || a.find(99, "separators"))
      a.fail("only 'indent' is supported");
    const int64_t indent = a.integer(0, "indent", -1);
    if (indent > 64) a.fail("indent is at most 64");
    return in.string_result(to_json(v, static_cast<int>(indent)));
  }
  if (name == "int") {
    a.allow(2, {"default", "base"});
    const Value fallback = a.get(0, "default", Value(int64_t{0}));
    if (v.is_int()) return v;
    if (v.is_bool()) return Value(static_cast<int64_t>(v.as_bool()));
    if (v.is_float()) {
      if (!std::isfinite(v.as_float()) || std::fabs(v.as_float()) >= 9.2e18) return fallback;
      return Value(static_cast<int64_t>(v.as_float()));
    }
    if (v.is_string()) {
      bool ok = false;
      const int64_t x = parse_int(v.as_string(), ok);
      if (ok) return Value(x);
      char* end = nullptr;
      const std::string t = strip(v.as_string(), Value::none(), true, true);
      const double f = std::strtod(t.c_str(), &end);
      if (!t.empty() && end == t.c_str() + t.size() && std::isfinite(f) && std::fabs(f) < 9.2e18)
        return Value(static_cast<int64_t>(f));
    }
    return fallback;
  }
  if (name == "float") {
    a.allow(1, {"default"});
    if (v.is_number()) return Value(v.as_number());
    if (v.is_string()) {
      const std::string t = strip(v.as_string(), Value::none(), true, true);
      char* end = nullptr;
      const double f = std::strtod(t.c_str(), &end);
      if (!t.empty() && end == t.c_str() + t.size()) return Value(f);
    }
    return a.get(0, "default", Value(0.0));
  }
  if (name == "default" || name == "d") {
    a.allow(2, {"default_value", "boolean"});
    const bool boolean = a.boolean(1, "boolean", false);
    if (v.is_undefined() || (boolean && !v.truthy())) return a.get(0, "default_value", Value(std::string()));
    return v;
  }
  if (name == "first" || name == "last") {
    a.allow(0);
    const Array items = sequence(in, v, name.c_str());
    if (items.empty()) return Value::undefined(name);
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    a.allow(2, {"d", "attribute"});
    const std::string sep = a.str(0, "d");
    const std::string attr = a.str(1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : sequence(in, v, "join")) {
      if (!first) out += sep;
      out += text(in, attr.empty() ? item : attribute_of(item, attr));
      first = false;
      in.check_string_size(out.size());
    }
    return in.string_result(std::move(out));
  }
  if (name == "replace") {
    a.allow(3, {"old", "new", "count"});
    return in.string_result(replace_all(in, text(in, v), a.required_str(0, "old"), a.required_str(1, "new"), a.integer(2, "count", -1)));
  }
  if (name == "list") return a.allow(0), in.array_result(sequence(in, v, "list"));
  if (name == "items") {
    a.allow(0);
    if (v.is_undefined()) return in.array_result({});
    return in.array_result(items_of(in, v, "items"));
  }
  if (name == "selectattr" || name == "rejectattr") return select(in, v, call, true, name == "selectattr", name.c_str());
  if (name == "select" || name == "reject") return select(in, v, call, false, name == "select", name.c_str());
  if (name == "map") {
    Array out;
    const Array items = v.truthy() ? sequence(in, v, "map") : Array{};
    if (const Value* attr = a.find(99, "attribute")) {
      if (!attr->is_string()) a.fail("'attribute' must be a string");
      const Value fallback = a.get(99, "default", Value());
      for (const Value& item : items) {
        Value x = attribute_of(item, attr->as_string());
        out.push_back(x.is_undefined() && !fallback.is_undefined() ? fallback : x);
      }
    } else {
      if (call.positional.empty() || !call.positional[0].is_string()) a.fail("needs a filter name or attribute=");
      const std::string filter = call.positional[0].as_string();
      for (const Value& item : items) {
        CallArgs rest;
        rest.positional.assign(call.positional.begin() + 1, call.positional.end());
        rest.named = call.named;
        out.push_back(apply_filter(in, filter, item, rest));
      }
    }
    return in.array_result(std::move(out));
  }
  if (name == "reverse") {
    a.allow(0);
    if (v.is_string()) {
      in.charge(v.as_string().size() * 64);
      std::vector<std::string> cs = utf8_chars(v.as_string());
      std::string out;
      for (size_t i = cs.size(); i-- > 0;) out += cs[i];
      return in.string_result(std::move(out));
    }
    Array items = sequence(in, v, "reverse");
    std::reverse(items.begin(), items.end());
    return in.array_result(std::move(items));
  }
  if (name == "sort") {
    a.allow(3, {"reverse", "case_sensitive", "attribute"});
    Array items = sequence(in, v, "sort");
    const bool reverse = a.boolean(0, "reverse", false), cs = a.boolean(1, "case_sensitive", false);
    const std::string attr = a.str(2, "attribute");
    size_t bytes = 0;  // each item takes part in about log2(n) comparisons
    for (const Value& x : items) bytes += read_cost(attr.empty() ? x : attribute_of(x, attr));
    in.charge(bytes * (1 + static_cast<size_t>(std::log2(static_cast<double>(items.size()) + 1))));
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
      const int c = attr.empty() ? order(x, y, cs) : order(attribute_of(x, attr), attribute_of(y, attr), cs);
      return reverse ? c > 0 : c < 0;
    });
    return in.array_result(std::move(items));
  }
  if (name == "unique") {
    a.allow(0);
    Array out;
    for (const Value& item : sequence(in, v, "unique")) {
      in.charge(out.size());
      bool seen = false;
      for (const Value& o : out) seen = seen || same(in, o, item);
      if (!seen) out.push_back(item);
    }
    return in.array_result(std::move(out));
  }
  if (name == "abs") {
    a.allow(0);
    if (v.is_int() && v.as_int() != INT64_MIN) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
    if (v.is_float()) return Value(std::fabs(v.as_float()));
    a.fail(std::string("needs a number, not a ") + v.type_name());
  }
  if (name == "round") {
    a.allow(2, {"precision", "method"});
    if (!v.is_number()) a.fail(std::string("needs a number, not a ") + v.type_name());
    const int64_t precision = a.integer(0, "precision", 0);
    if (precision < 0 || precision > 15) a.fail("precision must be 0..15");
    const std::string method = a.str(1, "method", "common");
    const double scale = std::pow(10.0, static_cast<double>(precision));
    const double x = v.as_number() * scale;
    const double r = method == "common" ? std::round(x) : method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : NAN;
    if (std::isnan(r) && !std::isnan(x)) a.fail("method must be common, ceil or floor");
    return Value(r / scale);
  }
  if (name == "indent") {
    a.allow(3, {"width", "first", "blank"});
    const Value w = a.get(0, "width", Value(int64_t{4}));
    const std::string pad = w.is_string() ? w.as_string() : std::string(static_cast<size_t>(std::clamp<int64_t>(w.is_int() ? w.as_int() : 4, 0, 256)), ' ');
    const bool first = a.boolean(1, "first", false), blank = a.boolean(2, "blank", false);
    const std::string s = text(in, v);
    std::string out;
    size_t i = 0;
    bool line_first = true;
    while (i <= s.size()) {
      const size_t j = std::min(s.find('\n', i), s.size());
      const std::string line = s.substr(i, j - i);
      if ((!line_first || first) && (blank || !line.empty())) out += pad;
      out += line;
      if (j < s.size()) out += '\n';
      in.check_string_size(out.size());
      line_first = false;
      i = j + 1;
    }
    return in.string_result(std::move(out));
  }
  throw TemplateError("unknown filter '" + name + "'");
}

bool apply_test(Interpreter& in, const std::string& name, const Value& v, CallArgs& call) {
  const Args a(call, "test '" + name + "'");
  in.charge(read_cost(v));
  auto other = [&]() {
    a.allow(1);
    if (a.positional().empty()) a.fail("needs a value to compare with");
    return a.positional()[0];
  };
  if (name == "defined") return a.allow(0), !v.is_undefined();
  if (name == "undefined") return a.allow(0), v.is_undefined();
  if (name == "none") return a.allow(0), v.is_none();
  if (name == "boolean") return a.allow(0), v.is_bool();
  if (name == "true") return a.allow(0), v.is_bool() && v.as_bool();
  if (name == "false") return a.allow(0), v.is_bool() && !v.as_bool();
  if (name == "integer") return a.allow(0), v.is_int();
  if (name == "float") return a.allow(0), v.is_float();
  if (name == "number") return a.allow(0), v.is_number();
  if (name == "string") return a.allow(0), v.is_string();
  if (name == "mapping") return a.allow(0), v.is_object();
  if (name == "iterable") return a.allow(0), v.is_array() || v.is_object() || v.is_string();
  if (name == "sequence") return a.allow(0), v.is_array() || v.is_object() || v.is_string();
  if (name == "callable") return a.allow(0), v.is_function();
  if (name == "lower") return a.allow(0), v.is_string() && ascii_lower(v.as_string()) == v.as_string();
  if (name == "upper") return a.allow(0), v.is_string() && ascii_upper(v.as_string()) == v.as_string();
  if (name == "equalto" || name == "eq" || name == "==") return same(in, v, other());
  if (name == "ne" || name == "!=") return !same(in, v, other());
  if (name == "sameas") {
    const Value o = other();
    if (v.type() != o.type()) return false;  // Python's `is`: identity for lists and dicts
    if (v.is_array()) return &v.as_array() == &o.as_array();
    if (v.is_object()) return &v.as_object() == &o.as_object();
    return same(in, v, o);
  }
  if (name == "lt" || name == "<" || name == "le" || name == "<=" || name == "gt" || name == ">" || name == "ge" ||
      name == ">=") {
    const Value o = other();
    const int c = order(v, o, true);
    if (name == "lt" || name == "<") return c < 0;
    if (name == "le" || name == "<=") return c <= 0;
    if (name == "gt" || name == ">") return c > 0;
    return c >= 0;
  }
  if (name == "in") {
    const Value o = other();
    if (o.is_string()) return v.is_string() && o.as_string().find(v.as_string()) != std::string::npos;
    if (o.is_object()) return v.is_string() && o.as_object().find(v.as_string());
    for (const Value& x : sequence(in, o, "in"))
      if (same(in, x, v)) return true;
    return false;
  }
  if (name == "odd" || name == "even") {
    a.allow(0);
    if (!v.is_int()) a.fail(std::string("needs an integer, not a ") + v.type_name());
    return (v.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    const Value o = other();
    if (!v.is_int() || !o.is_int() || o.as_int() == 0) a.fail("needs integers (and a divisor other than 0)");
    return o.as_int() == -1 || v.as_int() % o.as_int() == 0;
  }
  throw TemplateError("unknown test '" + name + "'");
}

Value call_method(Interpreter& in, const Value& obj, const std::string& name, CallArgs& call) {
  const Args a(call, "method '" + name + "'");
  in.charge(read_cost(obj));
  if (obj.is_string()) {
    const std::string& s = obj.as_string();
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      a.allow(1, {"chars"});
      return in.string_result(strip(s, a.get(0, "chars"), name != "rstrip", name != "lstrip"));
    }
    if (name == "upper") return a.allow(0), in.string_result(ascii_upper(s));
    if (name == "lower") return a.allow(0), in.string_result(ascii_lower(s));
    if (name == "title") return a.allow(0), in.string_result(python_title(s));
    if (name == "capitalize") return a.allow(0), in.string_result(capitalize(s));
    if (name == "startswith" || name == "endswith") {
      a.allow(1);
      if (a.positional().empty()) a.fail("needs a prefix or suffix");
      return Value(affix(s, a.positional()[0], name == "startswith"));
    }
    if (name == "split") {
      a.allow(2, {"sep", "maxsplit"});
      return split(in, s, a.get(0, "sep"), a.integer(1, "maxsplit", -1));
    }
    if (name == "replace") {
      a.allow(3, {"count"});
      if (a.positional().size() < 2) a.fail("needs the old and new strings");
      return in.string_result(replace_all(in, s, a.str(0, "old"), a.str(1, "new"), a.integer(2, "count", -1)));
    }
    if (name == "join") {
      a.allow(1);
      if (a.positional().empty()) a.fail("needs a list");
      std::string out;
      bool first = true;
      for (const Value& item : sequence(in, a.positional()[0], "join")) {
        if (!item.is_string()) a.fail(std::string("items must be strings, not a ") + item.type_name());
        if (!first) out += s;
        out += item.as_string();
        first = false;
        in.check_string_size(out.size());
      }
      return in.string_result(std::move(out));
    }
    if (name == "find" || name == "count") {
      a.allow(1);
      const std::string sub = a.required_str(0, "sub");
      if (name == "find") {
        const size_t p = s.find(sub);
        return Value(p == std::string::npos ? int64_t{-1} : static_cast<int64_t>(utf8_count(s.substr(0, p))));
      }
      if (sub.empty()) return Value(static_cast<int64_t>(utf8_count(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value(n);
    }
    if (name == "isdigit" || name == "isalpha" || name == "isspace") {
      a.allow(0);
      if (s.empty()) return Value(false);
      for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (name == "isdigit" ? !std::isdigit(u) : name == "isalpha" ? !std::isalpha(u) : !std::isspace(u)) return Value(false);
      }
      return Value(true);
    }
  } else if (obj.is_object() && !obj.as_object().is_namespace) {
    if (name == "get") {
      a.allow(2);
      if (a.positional().empty()) a.fail("needs a key");
      const Value& key = a.positional()[0];
      const Value* v = key.is_string() ? obj.as_object().find(key.as_string()) : nullptr;
      return v ? *v : a.get(1, "default");
    }
    if (name == "items") return a.allow(0), in.array_result(items_of(in, obj, "items"));
    if (name == "keys" || name == "values") {
      a.allow(0);
      Array out;
      for (const auto& [k, x] : obj.as_object().items) out.push_back(name == "keys" ? Value(k) : x);
      return in.array_result(std::move(out));
    }
  }
  throw TemplateError("unknown method '" + name + "' of a " + obj.type_name());
}

void add_global_functions(Interpreter& in, std::chrono::system_clock::time_point now) {
  Interpreter* ip = &in;
  in.set_global("range", Value::function("range", [ip](CallArgs& call) {
                  const Args a(call, "range");
                  a.allow(3);
                  const auto& p = a.positional();
                  if (p.empty()) a.fail("needs at least one argument");
                  for (const Value& x : p)
                    if (!x.is_int()) a.fail(std::string("arguments must be integers, not a ") + x.type_name());
                  const int64_t start = p.size() > 1 ? p[0].as_int() : 0;
                  const int64_t stop = p.size() > 1 ? p[1].as_int() : p[0].as_int();
                  const int64_t step = p.size() > 2 ? p[2].as_int() : 1;
                  if (step == 0) a.fail("step must not be zero");
                  Array out;
                  for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
                    ip->count_iterations(1);
                    out.emplace_back(i);
                    if (__builtin_add_overflow(i, step, &i)) break;
                  }
                  return ip->array_result(std::move(out));
                }));
  auto keyword_object = [ip](const char* what, bool is_namespace) {
    return [ip, what, is_namespace](CallArgs& call) {
      const Args a(call, what);
      Object o;
      o.is_namespace = is_namespace;
      if (!call.positional.empty()) {
        if (!call.positional[0].is_object()) a.fail("takes a dict or keyword arguments");
        for (const auto& [k, v] : call.positional[0].as_object().items) o.set(k, v);
      }
      for (auto& [k, v] : call.named) {
        if (v.is_object() && v.as_object().is_namespace) a.fail("a namespace cannot be stored inside another value");
        o.set(k, v);
      }
      return ip->object_result(std::move(o));
    };
  };
  // namespace() and dict() take any keywords: check them here rather than with allow().
  in.set_global("namespace", Value::function("namespace", [f = keyword_object("namespace", true)](CallArgs& c) {
                  CallArgs positional_only{c.positional, {}};
                  Args(positional_only, "namespace").allow(1);
                  return f(c);
                }));
  in.set_global("dict", Value::function("dict", [f = keyword_object("dict", false)](CallArgs& c) {
                  CallArgs positional_only{c.positional, {}};
                  Args(positional_only, "dict").allow(1);
                  return f(c);
                }));
  in.set_global("raise_exception", Value::function("raise_exception", [](CallArgs& call) -> Value {
                  const std::string msg = call.positional.empty() ? std::string() : to_str(call.positional[0], 4096);
                  throw TemplateError("the template raised an error: " + msg.substr(0, 1000));
                }));
  in.set_global("strftime_now", Value::function("strftime_now", [now](CallArgs& call) {
                  const Args a(call, "strftime_now");
                  a.allow(1);
                  const std::string fmt = a.required_str(0, "format");
                  if (fmt.size() > 256) a.fail("the format is longer than 256 bytes");
                  const std::time_t t = std::chrono::system_clock::to_time_t(now);
                  std::tm tm{};
                  localtime_r(&t, &tm);
                  std::string buf(4096, '\0');
                  const size_t n = fmt.empty() ? 0 : std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
                  buf.resize(n);
                  return Value(std::move(buf));
                }));
}

}  // namespace tessera::chat
