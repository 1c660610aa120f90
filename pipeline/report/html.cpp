#include "report/html.hpp"

#include "util/error.hpp"

namespace aepipe::report {
namespace {

// Plain and light, readable printed; images keep their pixels sharp when zoomed.
constexpr const char* kStyle = R"(
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; background: #fff; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
nav a { margin-right: 1em; }
img { image-rendering: pixelated; display: block; margin: 0.5em 0; max-width: 100%;
      height: auto; }
figure { margin: 0.5em 0 1.2em; }
figcaption { color: #555; font-size: 90%; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
.note { color: #777; font-style: italic; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
svg { background: #fff; }
)";

constexpr const char* kScript =
    "window.addEventListener('load', function () {\n"
    "  for (const image of document.images)\n"
    "    image.dataset.natural = image.naturalWidth + 'x' + image.naturalHeight;\n"
    "  document.body.dataset.loaded = 'true';\n"
    "});\n";

}  // namespace

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string html_image(const std::string& file, int width, int height, const std::string& alt) {
  return "<img src=\"" + escape_html(file) + "\" width=\"" + std::to_string(width) +
         "\" height=\"" + std::to_string(height) + "\" alt=\"" + escape_html(alt) + "\">\n";
}

std::string html_table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table>\n";
  if (!header.empty()) {
    out += "<tr>";
    for (const auto& cell : header) out += "<th>" + escape_html(cell) + "</th>";
    out += "</tr>\n";
  }
  for (const auto& row : rows) {
    // A row wider or narrower than the header puts figures under the wrong heading.
    if (!header.empty() && row.size() != header.size())
      throw Error(cat("internal: a report table row has ", row.size(), " cells for ", header.size(),
                      " headings"));
    out += "<tr>";
    for (const auto& cell : row) out += "<td>" + escape_html(cell) + "</td>";
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

std::string html_note(const std::string& text) {
  return "<p class=\"note\">" + escape_html(text) + "</p>\n";
}

std::string html_pre(const std::string& text) {
  return "<pre>" + escape_html(text) + "</pre>\n";
}

std::string html_paragraph(const std::string& text) {
  return "<p>" + escape_html(text) + "</p>\n";
}

std::string render_page(const std::string& title, const std::string& subtitle_html,
                        const std::vector<Section>& sections) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"generator\" content=\"aepipe report\">\n<title>" +
      escape_html(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>" +
      escape_html(title) + "</h1>\n<p>" + subtitle_html + "</p>\n<nav>";
  for (const auto& section : sections)
    out += "<a href=\"#" + escape_html(section.id) + "\">" + escape_html(section.title) + "</a>";
  out += "</nav>\n";
  for (const auto& section : sections)
    out += "<section id=\"" + escape_html(section.id) + "\">\n<h2>" + escape_html(section.title) +
           "</h2>\n" + section.body + "</section>\n";
  return out + "<script>\n" + kScript + "</script>\n</body>\n</html>\n";
}

}  // namespace aepipe::report
