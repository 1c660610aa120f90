#pragma once
// Reading a --metrics file back: JSON lines, one flat object per line, as util/json.hpp
// writes them ({"stage":"train","event":"epoch","epoch":3,"seconds":1.5,...}). Values are
// kept as numbers, strings, booleans or null; a nested object or array is kept as its JSON
// text, unparsed.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aepipe::report {

struct JsonValue {
  enum class Kind { kNull, kBoolean, kNumber, kString, kNested };
  Kind kind = Kind::kNull;
  double number = 0;  // kNumber; kBoolean: 0 or 1
  std::string text;   // kString (unescaped); kNested (the JSON text); kNumber (as written)
};

struct JsonEvent {
  std::vector<std::pair<std::string, JsonValue>> fields;  // in the order written
  // The field named `key`, or null if absent.
  const JsonValue* find(const std::string& key) const;
  // The string value of `key`, or "" if absent or not a string.
  std::string text(const std::string& key) const;
};

// Parses one object; throws Error("at character N: ...") when `line` is not one.
JsonEvent parse_json_object(std::string_view line);

// Every non-blank line of `path`; throws Error naming the file and line number.
std::vector<JsonEvent> read_json_lines(const std::string& path);

}  // namespace aepipe::report
