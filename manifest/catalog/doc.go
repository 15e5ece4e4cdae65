// Package catalog holds the reference lists a hazardous-waste transfer
// manifest (转移联单) is checked against: the national list of hazardous
// wastes, medical-waste categories, utilisation/disposal method codes,
// administrative region codes and battery unit codes.
//
// Everything is pure: the data are embedded (data/) and parsed once when the
// program starts; nothing touches the file system or the clock, there are no
// exported variables, and every function returns copies.
//
// # Sources and confidence
//
// Section numbers refer to /work/shared/DOMAIN.md, tags to its source list.
//
//   - Waste codes: data/hw-list-2021.csv and data/hw-categories-2021.json
//     are unmodified copies of the project's parse of the national list,
//     国家危险废物名录（2021年版） [S3] (§2): 467 codes in 46 categories — confirmed. The 2025
//     edition (470 codes, §2.1) is not reflected. English category names
//     (data/categories-en.csv) are the project's own translations.
//   - Streams (§2.4): HW01 is Medical; 772-002-18 生活垃圾焚烧飞灰 FlyAsh;
//     900-052-31 废铅蓄电池 Battery. EVBattery is a project entry, not a
//     listed code: the list has none for lithium-ion traction batteries, which
//     are traced under MIIT rules by GB/T 34014 unit codes (§5).
//   - Medical categories: 医疗废物分类目录（2021年版） [S6] mapped to HW01
//     codes [S3] (§3.1) — confirmed; 化学性 is 841-004-01, 药物性 841-005-01.
//   - Method codes (data/methods.csv): SECONDARY [S23] (§6.1) — taken from
//     public software, not from HJ 1033-2019 Appendix F, the normative list.
//     The class and indicator columns are the project's grouping.
//   - Regions (data/regions.csv): GB/T 2260 codes [S29] (§1.4), consistent
//     across several public tables but secondary; only Guangdong's cities and
//     a few of its districts are catalogued.
//   - Battery unit codes: GB/T 34014-2017 [S20] (§5.2); the 24-character
//     pattern is SECONDARY (Catena-X model). The battery-type letters
//     (data/battery-chemistries.csv) are UNCONFIRMED; the 18/19-character
//     cascade-use variant and the production-date tables are not implemented.
package catalog
