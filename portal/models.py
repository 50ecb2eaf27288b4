"""The publisher portal: payouts, payment methods, access requests, referrals."""
