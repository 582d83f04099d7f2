// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {CarbonWorld} from "./base/CarbonWorld.sol";
import {CarbonPool} from "../CarbonPool.sol";
import {ICarbonCredit} from "../interfaces/ICarbonCredit.sol";

contract CarbonSmokeTest is CarbonWorld {
    CarbonPool internal pool;

    function setUp() public {
        _buildCarbonWorld();
        pool = new CarbonPool("Solar", "SOL", carbon, _criteria(0, 1, new uint16[](0)), 100, address(0xFEE));
    }

    function test_issue_retire_pool() public {
        _readAll(10_000);
        _readAll(5_000);
        (uint256 id, uint256 amount) = _certify(0);
        _assertEq(amount, 15_000 * 380 / 1000, "amount");
        _assertEq(carbon.balanceOf(solarProsumer, id), amount, "balance");
        vm.prank(solarProsumer);
        carbon.retireCertificateCredits(id, 1000, beneficiary, "2026 scope 2");
        vm.prank(solarProsumer);
        carbon.retireCredits(500);
        _assertEq(carbon.getEmissionReductions(id).retiredGrams, 1500, "retired");
        vm.prank(solarProsumer);
        carbon.setApprovalForAll(address(pool), true);
        vm.prank(solarProsumer);
        pool.deposit(id, 2000);
        _assertEq(pool.balanceOf(solarProsumer), 2000, "pool");
        vm.prank(solarProsumer);
        pool.retireFromPool(500, beneficiary, "x");
        vm.prank(solarProsumer);
        pool.redeem(500);
        _assertEq(pool.totalSupply(), 1000, "supply");
        vm.prank(solarProsumer);
        carbon.transferCredits(buyer, 100);
        _assertEq(carbon.balanceOf(buyer, id), 100, "buyer");
    }
}
