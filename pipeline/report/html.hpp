#pragma once
// A self-contained HTML page built as text: escaping, small element helpers and the page
// skeleton (inline CSS, no external resources: the page must open from a folder without
// network access).
#include <string>
#include <string_view>
#include <vector>

namespace aepipe::report {

// `text` safe inside element content and quoted attribute values: & < > " ' escaped.
std::string escape_html(std::string_view text);

// One part of the page. `body` is HTML (already escaped); `id` names its anchor.
struct Section {
  std::string id;
  std::string title;
  std::string body;
};

// <img> of a file in the page's folder, shown at its natural size (width x height pixels).
std::string html_image(const std::string& file, int width, int height, const std::string& alt);
// <table>: every header and cell is text (escaped here). Rows may be shorter than the header;
// an empty header leaves out the header row.
std::string html_table(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows);
// A short remark, such as why a section is empty: <p class="note">.
std::string html_note(const std::string& text);
// Text shown verbatim (a config file): <pre>.
std::string html_pre(const std::string& text);
// A paragraph of text.
std::string html_paragraph(const std::string& text);

// The whole page: title, a line under it (HTML), a table of contents and the sections. A
// small inline script records each image's natural size as data-natural="WxH" once the page
// has loaded (0x0 for an image that failed), so a headless browser's DOM shows it.
std::string render_page(const std::string& title, const std::string& subtitle_html,
                        const std::vector<Section>& sections);

}  // namespace aepipe::report
