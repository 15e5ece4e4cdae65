package manifest

// Config holds the rule parameters that regulators set on the ledger. Figures
// DOMAIN.md marks as unconfirmed, or that a province may set differently,
// live here rather than in code.
type Config struct {
	// ToleranceBP is the allowed difference between declared and received
	// quantity on a line, in basis points of the declared quantity
	// (500 = 5 %). A larger difference is flagged on the manifest.
	ToleranceBP int64 `json:"tolerance_bp"`
	// MedicalMaxHours is the time from declared generation to delivery
	// at the disposal plant allowed for medical waste (医疗废物管理条例
	// Art.17, 25: 48 hours).
	MedicalMaxHours int64 `json:"medical_max_hours"`
	// MedicalRefuseLate refuses a late medical delivery instead of only
	// flagging it.
	MedicalRefuseLate bool `json:"medical_refuse_late"`
	// MaxLineKg bounds the quantity on one manifest line, in kilograms.
	MaxLineKg int64 `json:"max_line_kg"`
	// ClockSkewSeconds is how far a signed statement's time may run ahead
	// of the ledger's transaction time.
	ClockSkewSeconds int64 `json:"clock_skew_seconds"`
	// MaxOfflineHours is how long a statement signed offline may wait
	// before it is submitted.
	MaxOfflineHours int64 `json:"max_offline_hours"`
	// RegulatorMSPs are the ledger members allowed to register
	// organisations, issue permits and change this configuration.
	RegulatorMSPs []string `json:"regulator_msps"`
}

// DefaultConfig is in force until a regulator sets another.
func DefaultConfig() Config {
	return Config{
		ToleranceBP:       500,
		MedicalMaxHours:   48,
		MedicalRefuseLate: false,
		MaxLineKg:         200_000,
		ClockSkewSeconds:  300,
		MaxOfflineHours:   168,
		RegulatorMSPs:     []string{"RegulatorMSP"},
	}
}

// Validate checks a configuration before it is set.
func (c Config) Validate() error {
	switch {
	case c.ToleranceBP < 0 || c.ToleranceBP > 5000:
		return FieldError(Invalid, "tolerance_bp", "tolerance must be 0–5000 basis points (0–50 %%)")
	case c.MedicalMaxHours < 1 || c.MedicalMaxHours > 24*30:
		return FieldError(Invalid, "medical_max_hours", "medical limit must be 1–720 h")
	case c.MaxLineKg < 1 || c.MaxLineKg > 10_000_000:
		return FieldError(Invalid, "max_line_kg", "line bound must be 1–10,000,000 kg")
	case c.ClockSkewSeconds < 0 || c.ClockSkewSeconds > 3600:
		return FieldError(Invalid, "clock_skew_seconds", "clock skew must be 0–3600 s")
	case c.MaxOfflineHours < 1 || c.MaxOfflineHours > 24*31:
		return FieldError(Invalid, "max_offline_hours", "offline limit must be 1–744 h")
	case len(c.RegulatorMSPs) == 0:
		return FieldError(Invalid, "regulator_msps", "at least one regulator MSP is required")
	}
	return nil
}
