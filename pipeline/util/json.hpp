#pragma once
// A flat JSON object built field by field, for metrics lines and `inspect --json`.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace aepipe {

std::string json_quote(const std::string& text);

class JsonObject {
 public:
  JsonObject& add(const std::string& key, const std::string& value);
  JsonObject& add(const std::string& key, const char* value) {
    return add(key, std::string(value));
  }
  JsonObject& add(const std::string& key, double value);
  JsonObject& add(const std::string& key, std::int64_t value);
  JsonObject& add(const std::string& key, int value) { return add(key, std::int64_t{value}); }
  JsonObject& add(const std::string& key, bool value);
  // `json` is inserted verbatim (a nested object or array built elsewhere).
  JsonObject& add_raw(const std::string& key, const std::string& json);
  std::string str() const;
  // (key, value as JSON text) in the order added: `aepipe run` summarises stages from them.
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  // The value of `name` as JSON text ("" if absent).
  std::string field(const std::string& name) const;

 private:
  JsonObject& put(const std::string& name, std::string json);
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace aepipe
