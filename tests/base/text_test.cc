#include "base/text.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace wok {
namespace {

TEST(Join, ItemsWithTheSeparatorBetween) {
  EXPECT_EQ(join({}), "");
  EXPECT_EQ(join({"15"}), "15");
  EXPECT_EQ(join({"13", "15"}), "13, 15");
  EXPECT_EQ(join({"a", "", "b"}, "/"), "a//b");
}

TEST(PercentEncode, AllButTheUnreservedBytes) {
  EXPECT_EQ(percent_encode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(percent_encode("/ %+&=?#:@\n"), "%2F%20%25%2B%26%3D%3F%23%3A%40%0A");
  EXPECT_EQ(percent_encode("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(percent_encode(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(percent_encode(""), "");
}

// What sh -c gets back as one word, whatever it holds.
TEST(ShellQuote, OneWordForTheShell) {
  EXPECT_EQ(shell_quote("plain"), "'plain'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  const std::string hostile = "$(touch /tmp/x) `id` \"; ; \n*";
  FILE* p = ::popen(("printf %s " + shell_quote(hostile)).c_str(), "r");
  ASSERT_TRUE(p);
  char buf[256] = {};
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  ::pclose(p);
  EXPECT_EQ(std::string(buf, n), hostile);
}

TEST(Printable, ControlCharactersBecomeSpacesAndBadUtf8AQuestionMark) {
  EXPECT_EQ(printable("caf\xc3\xa9 \xff\n\x1b[31mred\x7f", 100), "caf\xc3\xa9 ?  [31mred ");
}

TEST(Printable, OnlyStrictUtf8AndNoC1Controls) {
  EXPECT_EQ(printable("\xc0\x80", 10), "??");            // an overlong NUL
  EXPECT_EQ(printable("\xed\xa0\x80", 10), "???");       // a surrogate
  EXPECT_EQ(printable("\xf5\x80\x80\x80", 10), "????");  // past U+10FFFF
  EXPECT_EQ(printable("\xe0\x80\xaf", 10), "???");       // an overlong '/'
  EXPECT_EQ(printable("a\xc2\x9b"
                      "31mb",
                      10),
            "a 31mb");  // U+009B, CSI
  EXPECT_EQ(printable("\xc2\xa0\xf0\x9f\x98\x80", 10), "\xc2\xa0\xf0\x9f\x98\x80");
}

TEST(Printable, CutsOnACharacterBoundary) {
  EXPECT_EQ(printable("ab\xc3\xa9", 3), "ab");
  EXPECT_EQ(printable("ab\xc3\xa9", 4), "ab\xc3\xa9");
  EXPECT_EQ(printable("\xe2\x82\xac\xe2\x82\xac", 5), "\xe2\x82\xac");
  EXPECT_EQ(printable("", 10), "");
}

TEST(LastLine, IsTheLastOneWithMoreThanBlanks) {
  EXPECT_EQ(last_line("building\nnpm ERR! missing script\n \n\t\n", 100),
            "npm ERR! missing script");
  EXPECT_EQ(last_line("only line", 100), "only line");
  EXPECT_EQ(last_line("  padded  \r\n", 100), "padded");
  EXPECT_EQ(last_line("first\n\n", 100), "first");
  EXPECT_EQ(last_line("\n\n \n", 100), "");
  EXPECT_EQ(last_line("", 100), "");
}

TEST(LastLine, IsPrintableAndBounded) {
  EXPECT_EQ(last_line("ok\n\x1b[1mError\x1b[0m: boom\n", 100), " [1mError [0m: boom");
  EXPECT_EQ(last_line("x\n" + std::string(1000, 'y') + "\n", 300), std::string(300, 'y'));
}

}  // namespace
}  // namespace wok
