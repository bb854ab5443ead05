# Net::POP3 over implicit TLS (MODE pop3s) or STLS (MODE stls): stores every message as
# OUT/001, OUT/002, ... and prints the UIDL listing.
# usage: netpop3_fetch.pl MODE PORT CA_FILE OUT_DIR
use strict;
use warnings;
use Net::POP3;

my ($mode, $port, $ca, $out) = @ARGV;
my %tls = (SSL_ca_file => $ca, SSL_verify_mode => 1, SSL_verifycn_scheme => 'default');
my $pop = Net::POP3->new('localhost', Port => $port, Timeout => 30,
                         ($mode eq 'pop3s' ? (SSL => 1, %tls) : ()))
  or die "connect failed: $@\n";
if ($mode eq 'stls') {
  $pop->starttls(%tls) or die "STLS failed: " . ($IO::Socket::SSL::SSL_ERROR // '') . "\n";
}
defined($pop->login('alice', 'alicepw')) or die "login failed: " . $pop->message . "\n";
my $sizes = $pop->list or die "LIST failed\n";
for my $i (sort { $a <=> $b } keys %$sizes) {
  open(my $fh, '>:raw', sprintf('%s/%03d', $out, $i)) or die "open: $!\n";
  $pop->get($i, $fh) or die "RETR $i failed: " . $pop->message . "\n";
  close($fh) or die "close: $!\n";
}
my $uids = $pop->uidl or die "UIDL failed\n";
print "$_ $uids->{$_}\n" for sort { $a <=> $b } keys %$uids;
$pop->quit or die "QUIT failed\n";
