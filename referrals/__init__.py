"""referrals: see ../shared/DESIGN.md (package reserved; its issue builds it)."""
