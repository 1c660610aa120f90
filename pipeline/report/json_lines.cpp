#include "report/json_lines.hpp"

#include <cstdint>
#include <cstdlib>
#include <fstream>

#include "util/error.hpp"

namespace aepipe::report {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  JsonEvent object() {
    JsonEvent event;
    expect('{');
    if (peek() != '}') {
      do {
        std::string key = string();
        expect(':');
        event.fields.emplace_back(std::move(key), value());
      } while (accept(','));
    }
    expect('}');
    if (peek() != '\0') fail("text after the object");
    return event;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(cat("at character ", at_ + 1, ": ", what));
  }
  char peek() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\r'))
      ++at_;
    return at_ < text_.size() ? text_[at_] : '\0';
  }
  bool accept(char c) {
    if (peek() != c) return false;
    ++at_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(cat("expected '", c, "'"));
  }
  bool word(std::string_view literal) {
    if (text_.substr(at_, literal.size()) != literal) return false;
    at_ += literal.size();
    return true;
  }

  JsonValue value() {
    JsonValue result;
    const char c = peek();
    if (c == '"') {
      result.kind = JsonValue::Kind::kString;
      result.text = string();
    } else if (c == '{' || c == '[') {
      result.kind = JsonValue::Kind::kNested;
      result.text = nested();
    } else if (word("null")) {
      result.kind = JsonValue::Kind::kNull;
    } else if (word("true")) {
      result.kind = JsonValue::Kind::kBoolean;
      result.number = 1;
    } else if (word("false")) {
      result.kind = JsonValue::Kind::kBoolean;
    } else {
      result.kind = JsonValue::Kind::kNumber;
      const size_t start = at_;
      while (at_ < text_.size() &&
             std::string_view("+-.0123456789eE").find(text_[at_]) != std::string_view::npos)
        ++at_;
      result.text = std::string(text_.substr(start, at_ - start));
      char* end = nullptr;
      result.number = std::strtod(result.text.c_str(), &end);
      if (result.text.empty() || end != result.text.c_str() + result.text.size())
        fail("expected a value");
    }
    return result;
  }

  // A nested object or array, skipped by matching brackets outside strings.
  std::string nested() {
    const size_t start = at_;
    int depth = 0;
    do {
      if (at_ >= text_.size()) fail("unterminated object or array");
      const char c = text_[at_];
      if (c == '"') {
        string();
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++at_;
    } while (depth > 0);
    return std::string(text_.substr(start, at_ - start));
  }

  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (at_ >= text_.size()) fail("unterminated string");
      const char c = text_[at_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) fail("unterminated string");
      const char escaped = text_[at_++];
      switch (escaped) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u':
          append_utf8(out, code_point());
          break;
        case '"':
        case '\\':
        case '/':
          out += escaped;
          break;
        default:
          fail(cat("bad escape '\\", escaped, "'"));
      }
    }
  }

  // The code point of a \uXXXX escape (the "\u" read), joining a surrogate pair.
  unsigned code_point() {
    unsigned point = hex4();
    if (point >= 0xD800 && point < 0xDC00 && word("\\u")) {
      const unsigned low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
      point = 0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00);
    }
    return point;
  }
  unsigned hex4() {
    if (at_ + 4 > text_.size()) fail("short \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[at_++];
      const auto digit = std::string_view("0123456789abcdef").find(static_cast<char>(c | 0x20));
      if (digit == std::string_view::npos) fail("bad \\u escape");
      value = value * 16 + static_cast<unsigned>(digit);
    }
    return value;
  }
  static void append_utf8(std::string& out, unsigned point) {
    const auto put = [&](unsigned byte) { out += static_cast<char>(byte); };
    if (point < 0x80) {
      put(point);
    } else if (point < 0x800) {
      put(0xC0 | (point >> 6));
      put(0x80 | (point & 0x3F));
    } else if (point < 0x10000) {
      put(0xE0 | (point >> 12));
      put(0x80 | ((point >> 6) & 0x3F));
      put(0x80 | (point & 0x3F));
    } else {
      put(0xF0 | (point >> 18));
      put(0x80 | ((point >> 12) & 0x3F));
      put(0x80 | ((point >> 6) & 0x3F));
      put(0x80 | (point & 0x3F));
    }
  }

  std::string_view text_;
  size_t at_ = 0;
};

}  // namespace

const JsonValue* JsonEvent::find(const std::string& key) const {
  for (const auto& [name, value] : fields)
    if (name == key) return &value;
  return nullptr;
}

std::string JsonEvent::text(const std::string& key) const {
  const JsonValue* value = find(key);
  return value && value->kind == JsonValue::Kind::kString ? value->text : "";
}

JsonEvent parse_json_object(std::string_view line) {
  return Parser(line).object();
}

std::vector<JsonEvent> read_json_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(cat("cannot read metrics file ", path));
  std::vector<JsonEvent> events;
  std::string line;
  for (std::int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      events.push_back(parse_json_object(line));
    } catch (const Error& error) {
      throw Error(cat("metrics file ", path, " line ", number, " is not a JSON object (",
                      error.what(), ")"));
    }
  }
  if (in.bad()) throw Error(cat("cannot read metrics file ", path));
  return events;
}

}  // namespace aepipe::report
