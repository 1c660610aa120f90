#include "util/json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace aepipe {

std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

JsonObject& JsonObject::put(const std::string& name, std::string json) {
  fields_.emplace_back(name, std::move(json));
  return *this;
}

std::string JsonObject::str() const {
  std::string text = "{";
  for (const auto& [name, json] : fields_) {
    if (text.size() > 1) text += ",";
    text += json_quote(name) + ":" + json;
  }
  return text + "}";
}

std::string JsonObject::field(const std::string& name) const {
  for (const auto& [key, json] : fields_)
    if (key == name) return json;
  return "";
}

JsonObject& JsonObject::add(const std::string& name, const std::string& value) {
  return put(name, json_quote(value));
}

JsonObject& JsonObject::add(const std::string& name, double value) {
  if (!std::isfinite(value)) return put(name, "null");  // JSON has no NaN or Inf
  // The shortest text that reads back as the same double: scripts recompute figures and
  // compare them closely.
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  return put(name, std::string(text, end));
}

JsonObject& JsonObject::add(const std::string& name, std::int64_t value) {
  return put(name, std::to_string(value));
}

JsonObject& JsonObject::add(const std::string& name, bool value) {
  return put(name, value ? "true" : "false");
}

JsonObject& JsonObject::add_raw(const std::string& name, const std::string& json) {
  return put(name, json);
}

}  // namespace aepipe
