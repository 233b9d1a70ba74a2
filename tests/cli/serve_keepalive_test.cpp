// A request `tessera serve` refuses (no API key) must not leave its body in a
// kept-alive connection: the next request on that connection is answered as
// itself. (Node 18's fetch sends a POST's body after its headers and reuses
// the connection; a refusal made before the body was read turned the next
// request into a 400.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "server_process.h"

namespace tessera {
namespace {

// Reads from `fd` until `want` HTTP responses (status lines) have arrived, EOF or a 10 s silence.
std::string read_responses(int fd, int want) {
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  char buf[4096];
  auto count = [&] {
    int n = 0;
    for (size_t at = got.find("HTTP/1.1 "); at != std::string::npos; at = got.find("HTTP/1.1 ", at + 1)) ++n;
    return n;
  };
  while (count() < want) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the last response's body
  const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n > 0) got.append(buf, static_cast<size_t>(n));
  return got;
}

TEST(ServeConnection, RefusedRequestBodyDoesNotSpillIntoTheNextRequest) {
  test::ServerProcess server("--api-key s3cret");
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto send_all = [&](const std::string& bytes) { ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size())); };

  const std::string body = R"({"messages":[{"role":"user","content":"hi"}]})";
  send_all("POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // headers and body in separate packets
  send_all(body);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  send_all("GET /v1/models HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer s3cret\r\n\r\n");
  const std::string got = read_responses(fd, 2);
  close(fd);

  const size_t first = got.find("HTTP/1.1 ");
  ASSERT_NE(first, std::string::npos) << got;
  EXPECT_EQ(got.substr(first, 12), "HTTP/1.1 401") << got;
  const size_t second = got.find("HTTP/1.1 ", first + 1);
  ASSERT_NE(second, std::string::npos) << "no answer to the second request: " << got;
  EXPECT_EQ(got.substr(second, 12), "HTTP/1.1 200") << got;
  EXPECT_NE(got.find("\"object\":\"list\"", second), std::string::npos) << got;
}

}  // namespace
}  // namespace tessera
