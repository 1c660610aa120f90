#include <gtest/gtest.h>

#include "util/error.hpp"

#include "report/html.hpp"

namespace aepipe::report {
namespace {

TEST(ReportHtml, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(escape_html("a < b && c > \"d\" 'e'"),
            "a &lt; b &amp;&amp; c &gt; &quot;d&quot; &#39;e&#39;");
  EXPECT_EQ(escape_html("plain text, 1.5 dB"), "plain text, 1.5 dB");
  // Already-escaped text is escaped again: the helpers take text, never HTML.
  EXPECT_EQ(escape_html("&amp;"), "&amp;amp;");
}

TEST(ReportHtml, HelpersEscapeTheirText) {
  EXPECT_EQ(html_table({"a<b", "c"}, {{"<script>", "x"}}),
            "<table>\n<tr><th>a&lt;b</th><th>c</th></tr>\n<tr><td>&lt;script&gt;</td><td>x</td>"
            "</tr>\n</table>\n");
  // Regression: the stage-events table had five cells under four headings.
  EXPECT_THROW(html_table({"a", "b"}, {{"1", "2", "3"}}), Error);
  EXPECT_EQ(html_table({}, {{"a", "b"}}), "<table>\n<tr><td>a</td><td>b</td></tr>\n</table>\n");
  EXPECT_EQ(html_image("a\"b.png", 10, 20, "x<y"),
            "<img src=\"a&quot;b.png\" width=\"10\" height=\"20\" alt=\"x&lt;y\">\n");
  EXPECT_EQ(html_pre("[train]\nlr = 0.1 <fast>"), "<pre>[train]\nlr = 0.1 &lt;fast&gt;</pre>\n");
  EXPECT_EQ(html_note("no --model"), "<p class=\"note\">no --model</p>\n");
}

TEST(ReportHtml, PageHoldsSectionsAndNoExternalResources) {
  const std::string page = render_page("report <1>", "made <em>here</em>",
                                       {{"a", "First & best", "<p>one</p>"}, {"b", "Second", ""}});
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<meta name=\"generator\" content=\"aepipe report\">"), std::string::npos);
  EXPECT_NE(page.find("<title>report &lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(page.find("<p>made <em>here</em></p>"), std::string::npos);  // subtitle is HTML
  EXPECT_NE(page.find("<a href=\"#a\">First &amp; best</a>"), std::string::npos);
  EXPECT_NE(page.find("<section id=\"b\">\n<h2>Second</h2>"), std::string::npos);
  EXPECT_LT(page.find("<p>one</p>"), page.find("<section id=\"b\">"));
  EXPECT_EQ(page.find("http"), std::string::npos);
  EXPECT_EQ(page.find(" src="), std::string::npos);            // no image, no external script
  EXPECT_NE(page.find("dataset.natural"), std::string::npos);  // the load handler
  EXPECT_EQ(page.substr(page.size() - 8), "</html>\n");
}

}  // namespace
}  // namespace aepipe::report
