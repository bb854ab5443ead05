# Mail::POP3Client over implicit TLS: stores every message as OUT/001, OUT/002, ... byte for byte.
# usage: pop3client_fetch.pl PORT CA_FILE OUT_DIR
use strict;
use warnings;
use IO::Socket::SSL qw(SSL_VERIFY_PEER);
use Mail::POP3Client;

my ($port, $ca, $out) = @ARGV;
# Mail::POP3Client passes no TLS options of its own: trust only the test CA, check the name.
IO::Socket::SSL::set_defaults(SSL_ca_file => $ca, SSL_verify_mode => SSL_VERIFY_PEER,
                              SSL_verifycn_scheme => 'default');
my $pop = Mail::POP3Client->new(USER => 'alice', PASSWORD => 'alicepw', HOST => 'localhost',
                                PORT => $port, USESSL => 1, TIMEOUT => 30);
$pop && $pop->Alive()
  or die "connect failed: " . ($pop ? $pop->Message() : $!) . " " . ($IO::Socket::SSL::SSL_ERROR // '') . "\n";
my $count = $pop->Count();
$count >= 0 or die "login failed: " . $pop->Message() . "\n";
for my $i (1 .. $count) {
  open(my $fh, '>:raw', sprintf('%s/%03d', $out, $i)) or die "open: $!\n";
  $pop->RetrieveToFile($fh, $i) or die "RETR $i failed: " . $pop->Message() . "\n";
  close($fh) or die "close: $!\n";
}
$pop->Close() or die "QUIT failed\n";
print "$count\n";
