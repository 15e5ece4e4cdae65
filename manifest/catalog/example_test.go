package catalog_test

import (
	"fmt"

	"wasteledger/manifest/catalog"
)

func ExampleSearch() {
	for _, w := range catalog.Search("hw01", 2) {
		fmt.Println(w.Code, w.Name, w.Stream)
	}
	// Output:
	// 841-001-01 感染性废物 medical
	// 841-002-01 损伤性废物 medical
}

func ExampleValidCode() {
	fmt.Println(catalog.ValidCode("900-214-08"))
	fmt.Println(catalog.ValidCode("900-214-8"))
	// Output:
	// <nil>
	// waste code "900-214-8": must have the form NNN-NNN-NN (digits, e.g. 900-214-08) or be EV-BATTERY
}

func ExampleMethodAllowed() {
	fmt.Println(catalog.MethodAllowed("841-001-01", "Y10"))
	fmt.Println(catalog.MethodAllowed("900-214-08", "Y10"))
	// Output:
	// <nil>
	// method "Y10": Y10 (医疗废物焚烧) is for medical waste (HW01) only; 900-214-08 is industrial
}

func ExampleContains() {
	fmt.Println(catalog.Contains("440000", "441900"), catalog.Contains("440100", "440306"))
	// Output: true false
}

func ExampleValidBatteryCode() {
	fmt.Println(catalog.ValidBatteryCode("03HXBA12345678NC10000001"))
	// Output: battery code "03HXBA12345678NC10000001": position 4 (product type) must be P, M or C, got 'X'
}
