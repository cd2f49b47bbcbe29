"""One picture of a person: profile, timeline, cautions and plans, care team, referrals."""
