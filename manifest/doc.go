// Package manifest is the domain core of wasteledger: organisations, permits,
// party keys, the transfer manifest (转移联单) and its lifecycle, the rules
// checked at each transition, and the handover statements parties sign.
//
// It does no I/O and reads no clock: every time it needs is passed in, every
// fact it checks (a permit, a key, the ledger configuration) is handed to it
// by the contract, so that the same decisions are made on every endorsing
// peer and on replay. A test keeps it so (imports_test.go).
//
// Sources of the rules are cited as DOMAIN.md sections: the 2021 transfer
// measures (危险废物转移管理办法, §1), the national list (§2), medical waste
// (§3), batteries (§5) and method codes (§6).
package manifest
