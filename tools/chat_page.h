// The web chat page of `tessera serve` (tools/web/chat.html, embedded at build time).
#pragma once

#include <string_view>

namespace tessera::cli {

// The page's HTML, served at GET / as text/html.
std::string_view chat_page_html();

// The Content-Security-Policy the page is served with: its own inline script and
// style, requests to this server only, nothing from elsewhere.
inline constexpr const char* kChatPageCsp =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace tessera::cli
