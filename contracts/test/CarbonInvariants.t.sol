// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {CarbonWorld, CreditVault} from "./base/CarbonWorld.sol";
import {ReadingBatch} from "./base/ReadingBatch.sol";
import {Cheats} from "./base/Cheats.sol";
import {CarbonCredit} from "../CarbonCredit.sol";
import {ICarbonCredit} from "../interfaces/ICarbonCredit.sol";
import {ISmartMeter} from "../interfaces/ISmartMeter.sol";

/// @notice Drives readings, certifications (honest ones and attempts to certify used lots, a
///         grid-mix meter or too many grams), retirements, transfers, quarantine resets with a
///         register jump, time and expiry records through the carbon system, and keeps ghost
///         records of the energy minted, the credits retired and what every expired certificate
///         looked like when it was first seen expired.
/// @dev The handler is the ADMIN of its world (it deployed the AccessManager). Credits live for
///      2 days after their vintage, so a run sees certificates expire.
contract CarbonHandler is CarbonWorld {
    uint256 public constant HOLDERS = 6;
    uint64 public constant SHORT_LIFETIME = 2 days;

    address[HOLDERS] internal holders;

    // ---- energy: per device, minted as live energy in total (never an expired epoch's share of a delta) and
    //      cumulatively through each reading, and the interval of each
    uint256[DEVICES] public ghostMintedWh;
    mapping(uint256 deviceIndex => mapping(uint256 sequence => uint256)) public ghostMintedThrough;
    mapping(uint256 deviceIndex => mapping(uint256 sequence => uint256)) internal ghostIntervalOf;
    mapping(uint256 deviceIndex => bytes) internal lastVerification;
    mapping(uint256 deviceIndex => uint256) internal lastAmount;

    // ---- credits
    mapping(uint256 certificateId => uint256) public ghostIssued;
    mapping(uint256 certificateId => uint256) public ghostRetired;
    uint256 public ghostRetirements;
    /// The retirement log's head, replayed from the CreditsRetired events as ICarbonCredit documents.
    uint256 public ghostLogHead;
    mapping(uint256 certificateId => bool) public expiredSeen;
    mapping(uint256 certificateId => mapping(uint256 holder => uint256)) public balanceWhenExpired;
    mapping(uint256 certificateId => uint256) public retiredWhenExpired;
    mapping(uint256 certificateId => uint256) internal lastRetired;
    uint256 internal lastRetirementCount;

    // ---- violations a call revealed at once (all must stay 0)
    uint256 public ghostUsedLotsCertified; // used lots, or more grams than the energy backs
    uint256 public ghostGridMixCertified;
    uint256 public ghostExpiredCreditsMoved;
    uint256 public ghostRetiredDecreased;
    uint256 public ghostRetireMismatch;
    uint256 public ghostEarlyExpiryRecorded;
    uint256 public ghostReadingRefused;

    // ---- coverage
    uint256 public certificatesIssued;
    uint256 public retirementsLanded;
    uint256 public transfersLanded;
    uint256 public expiriesRecorded;
    uint256 public resets;

    constructor() {
        _buildCarbonWorld();
        carbon.setCreditLifetime(SHORT_LIFETIME);
        holders = [solarProsumer, windGenerator, frenchProsumer, buyer, beneficiary, address(new CreditVault())];
    }

    modifier observed() {
        _;
        _observe();
    }

    // ------------------------------------------------------------ views for the invariants
    function carbonUnderTest() external view returns (CarbonCredit) {
        return carbon;
    }

    function holderAt(uint256 k) external view returns (address) {
        return holders[k];
    }

    function factorOf(uint256 deviceIndex) public pure returns (uint256) {
        return deviceIndex == 2 ? FACTOR_FR : FACTOR_DE;
    }

    // ------------------------------------------------------------ actions
    /// @notice The next interval: every meter reports a random export (zero one time in five).
    function read(uint64 a, uint64 b, uint64 c, uint64 d) external observed {
        _read([_delta(a), _delta(b), _delta(c), _delta(d)]);
    }

    /// @notice A VERIFIER certifies one meter (after a new interval of readings if it has no
    ///         uncertified reading): 13 times in 16 an honest range from its marker (to the newest
    ///         reading, or 2 times in 16 to a random one); otherwise the last certificate again,
    ///         a range reaching back into certified lots, or one gram too many, which must fail.
    function certify(uint256 seed, uint64 cut) external observed {
        uint256 h = _mix(seed);
        uint256 i = h % DEVICES;
        uint256 mode = (h >> 8) % 16;
        (uint256 markerSequence,) = carbon.certifiedThrough(i + 1);
        if (nextSequence[i] - 1 <= markerSequence) {
            uint64 delta = _delta(cut);
            _read([delta, delta, delta, delta]);
        }
        uint64 last = nextSequence[i] - 1;
        if (mode == 0) {
            // Exactly the last certificate's verification again: its lots are used.
            if (lastVerification[i].length == 0) return;
            _attemptForbidden(i, lastAmount[i], lastVerification[i]);
            return;
        }
        if (mode == 1) {
            // A range that starts inside the certified lots and reaches the newest reading.
            if (markerSequence == 0) return;
            uint64 previous = uint64(cut % markerSequence);
            uint256 energyWh = ghostMintedThrough[i][last] - ghostMintedThrough[i][previous];
            bytes memory data = _verification(i, previous, last, uint64(ghostIntervalOf[i][previous + 1]));
            _attemptForbidden(i, energyWh * factorOf(i) / 1000, data);
            return;
        }
        uint64 lastSequence = mode == 3 || mode == 4 ? uint64(markerSequence + 1 + cut % (last - markerSequence)) : last;
        uint256 energy = ghostMintedThrough[i][lastSequence] - ghostMintedThrough[i][markerSequence];
        uint256 amount = energy * factorOf(i) / 1000;
        bytes memory verification =
            _verification(i, uint64(markerSequence), lastSequence, uint64(ghostIntervalOf[i][markerSequence + 1]));
        if (mode == 2) {
            // One gram more than the energy backs.
            _attemptForbidden(i, amount + 1, verification);
            return;
        }
        vm.prank(verifier);
        try carbon.issueCreditsCertificate(owners[i], amount, verification) {
            if (i == 3) ++ghostGridMixCertified;
            uint256 id = carbon.certificateCount();
            ghostIssued[id] = amount;
            lastVerification[i] = verification;
            lastAmount[i] = amount;
            ++certificatesIssued;
        } catch {}
    }

    /// @notice A holder retires: part of one certificate it holds by id (expired ones included,
    ///         which must fail), or an amount of its live credits id-less.
    function retire(uint256 seed, uint256 amountSeed) external observed {
        uint256 h = _mix(seed);
        uint256 count = carbon.certificateCount();
        if (h % 2 == 0) {
            (address holder, uint256 id, uint256 held) = _pickHeld(h >> 8, count);
            if (held == 0) return;
            uint256 amount = 1 + amountSeed % held;
            bool expired = _expired(id);
            vm.recordLogs();
            vm.prank(holder);
            try carbon.retireCertificateCredits(id, amount, beneficiary, "handler") {
                if (expired) ++ghostExpiredCreditsMoved;
                ghostRetired[id] += amount;
                ++ghostRetirements;
                ++retirementsLanded;
                _replayRetirements(ICarbonCredit.Retirement(holder, beneficiary, id, amount, nowSeconds, "handler"));
            } catch {}
        } else {
            (address holder, uint256 live) = _pickLive(h >> 8, count);
            if (live == 0) return;
            uint256[] memory before = _balances(holder, count);
            uint256 amount = 1 + amountSeed % live;
            vm.recordLogs();
            vm.prank(holder);
            try carbon.retireCredits(amount) {
                _replayRetirements(ICarbonCredit.Retirement(holder, holder, 0, 0, nowSeconds, ""));
                uint256 total;
                for (uint256 id = 1; id <= count; ++id) {
                    uint256 taken = before[id] - carbon.balanceOf(holder, id);
                    if (taken == 0) continue;
                    if (_expired(id)) ++ghostExpiredCreditsMoved;
                    ghostRetired[id] += taken;
                    ++ghostRetirements;
                    total += taken;
                }
                if (total != amount) ++ghostRetireMismatch;
                ++retirementsLanded;
            } catch {}
        }
    }

    /// @notice A holder sends credits to another holder: part of one certificate by id (expired
    ///         ones included, which must fail), or an amount of its live credits id-less.
    function transfer(uint256 seed, uint256 amountSeed) external observed {
        uint256 h = _mix(seed);
        uint256 count = carbon.certificateCount();
        address to = holders[(h >> 128) % HOLDERS];
        if (h % 2 == 0) {
            (address from, uint256 id, uint256 held) = _pickHeld(h >> 8, count);
            if (held == 0) return;
            if (to == from) to = holders[((h >> 128) + 1) % HOLDERS];
            uint256 amount = 1 + amountSeed % held;
            bool expired = _expired(id);
            vm.prank(from);
            try carbon.safeTransferFrom(from, to, id, amount, "") {
                if (expired) ++ghostExpiredCreditsMoved;
                ++transfersLanded;
            } catch {}
        } else {
            (address from, uint256 live) = _pickLive(h >> 8, count);
            if (live == 0) return;
            if (to == from) to = holders[((h >> 128) + 1) % HOLDERS];
            uint256[] memory before = _balances(from, count);
            vm.prank(from);
            try carbon.transferCredits(to, 1 + amountSeed % live) {
                for (uint256 id = 1; id <= count; ++id) {
                    if (before[id] != carbon.balanceOf(from, id) && _expired(id)) ++ghostExpiredCreditsMoved;
                }
                ++transfersLanded;
            } catch {}
        }
    }

    /// @notice Time passes (up to two days, a credit lifetime): certificates reach their expiry.
    function advance(uint32 secondsSeed) external observed {
        _warp(nowSeconds + 1 + secondsSeed % SHORT_LIFETIME);
    }

    /// @notice Anyone records the expiry of a certificate (early attempts must fail).
    function expire(uint256 seed) external observed {
        uint256 count = carbon.certificateCount();
        if (count == 0) return;
        uint256 id = 1 + _mix(seed) % count;
        bool expired = _expired(id);
        try carbon.recordExpiry(id) {
            if (!expired) ++ghostEarlyExpiryRecorded;
            ++expiriesRecorded;
        } catch {}
    }

    /// @notice (One call in three) a renewable meter reports tampering and is quarantined;
    ///         inspection resets it at a register up to 100 kWh above the last accepted one (that
    ///         jump is never minted).
    function tamperAndReset(uint256 seed, uint64 jumpSeed) external observed {
        uint256 h = _mix(seed);
        if (h % 3 != 0) return; // rarer than the other actions
        uint256 i = (h >> 8) % 3;
        uint256 intervalStart = nowSeconds - (nowSeconds % 900);
        _warp(intervalStart + 900 + 10);
        ISmartMeter.SignedReading[] memory batch = new ISmartMeter.SignedReading[](1);
        batch[0] = ISmartMeter.SignedReading(
            uint64(i + 1), nextSequence[i], uint64(intervalStart), 0, exportRegisterWh[i], 1, FIRMWARE, 0, 0
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(DEVICE_KEY + i, registry.readingDigest(batch[0]));
        batch[0].r = r;
        batch[0].vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        vm.prank(gateway);
        registry.submitReadings(ReadingBatch.packed(batch));
        exportRegisterWh[i] += uint64(jumpSeed % 100_000);
        registry.resetQuarantine(i + 1, 0, exportRegisterWh[i]);
        ++resets;
    }

    // ------------------------------------------------------------ internals
    function _read(uint64[DEVICES] memory deltas) internal {
        uint256 intervalStart = nowSeconds - (nowSeconds % 900);
        uint256[DEVICES] memory expiredWh;
        for (uint256 i; i < DEVICES; ++i) {
            expiredWh[i] = _expiredPart(deltas[i], registry.getDevice(i + 1).lastIntervalStart, intervalStart);
        }
        _readInterval(deltas);
        for (uint256 i; i < DEVICES; ++i) {
            uint256 sequence = nextSequence[i] - 1;
            if (registry.getDevice(i + 1).lastSequence != sequence) ++ghostReadingRefused;
            ghostMintedWh[i] += deltas[i] - expiredWh[i];
            ghostMintedThrough[i][sequence] = ghostMintedWh[i];
            ghostIntervalOf[i][sequence] = intervalStart;
        }
    }

    /// @dev The part of an export delta the registry never mints: it spreads the delta evenly over
    ///      the time from the end of the last accepted interval to the end of this one (read 10 s
    ///      after it ends), and the share before the previous epoch began has expired.
    function _expiredPart(uint256 deltaWh, uint256 lastStart, uint256 intervalStart) internal view returns (uint256) {
        uint256 epochSeconds = token.epochSeconds();
        uint256 readAt = intervalStart + 900 + 10;
        uint256 previousEpochFrom = readAt - (readAt % epochSeconds) - epochSeconds;
        uint256 coveredFrom = lastStart + 900;
        if (deltaWh == 0 || coveredFrom >= previousEpochFrom) return 0;
        uint256 coveredSeconds = intervalStart - lastStart;
        uint256 expiredSeconds = previousEpochFrom - coveredFrom;
        if (expiredSeconds > coveredSeconds) expiredSeconds = coveredSeconds;
        return deltaWh * expiredSeconds / coveredSeconds;
    }

    /// @dev The fuzzer favours small and repeated values; hashing spreads every bit of a seed.
    function _mix(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed)));
    }

    /// @dev From a random holder and certificate on: the first (holder, certificate) with credits,
    ///      live or expired (held = 0 if nobody holds any).
    function _pickHeld(uint256 h, uint256 count) internal view returns (address holder, uint256 id, uint256 held) {
        if (count == 0) return (address(0), 0, 0);
        for (uint256 k; k < HOLDERS; ++k) {
            holder = holders[(h + k) % HOLDERS];
            for (uint256 j; j < count; ++j) {
                id = 1 + ((h >> 64) + j) % count;
                held = carbon.balanceOf(holder, id);
                if (held != 0) return (holder, id, held);
            }
        }
    }

    /// @dev From a random holder on: the first holder with live credits, and how many.
    function _pickLive(uint256 h, uint256 count) internal view returns (address holder, uint256 live) {
        for (uint256 k; k < HOLDERS; ++k) {
            holder = holders[(h + k) % HOLDERS];
            live = _live(holder, count);
            if (live != 0) return (holder, live);
        }
    }

    function _delta(uint64 seed) internal pure returns (uint64) {
        return seed % 5 == 0 ? 0 : seed % 25_001;
    }

    function _attemptForbidden(uint256 i, uint256 amount, bytes memory data) internal {
        vm.prank(verifier);
        try carbon.issueCreditsCertificate(owners[i], amount, data) {
            ++ghostUsedLotsCertified;
            ghostIssued[carbon.certificateCount()] = amount;
        } catch {}
    }

    /// @dev Extends the ghost log head by the CreditsRetired events of the call that just landed;
    ///      each must name `expected`'s retiree, beneficiary, time and purpose (and, when
    ///      `expected` names one, its certificate and grams).
    function _replayRetirements(ICarbonCredit.Retirement memory expected) internal {
        Cheats.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 k; k < logs.length; ++k) {
            if (logs[k].emitter != address(carbon) || logs[k].topics[0] != ICarbonCredit.CreditsRetired.selector) {
                continue;
            }
            ICarbonCredit.Retirement memory rec;
            uint256 retirementId = uint256(logs[k].topics[1]);
            rec.certificateId = uint256(logs[k].topics[2]);
            rec.retiree = address(uint160(uint256(logs[k].topics[3])));
            (rec.beneficiary, rec.co2eGrams, rec.retiredAt, rec.purpose) =
                abi.decode(logs[k].data, (address, uint256, uint256, string));
            bool matches = rec.retiree == expected.retiree && rec.beneficiary == expected.beneficiary
                && rec.retiredAt == expected.retiredAt
                && keccak256(bytes(rec.purpose)) == keccak256(bytes(expected.purpose))
                && (expected.certificateId == 0
                    || (rec.certificateId == expected.certificateId && rec.co2eGrams == expected.co2eGrams));
            if (!matches) ++ghostRetireMismatch;
            ghostLogHead = uint192(uint256(keccak256(abi.encode(ghostLogHead, retirementId, rec))));
        }
    }

    function _expired(uint256 id) internal view returns (bool) {
        return nowSeconds >= carbon.getEmissionReductions(id).expiresAt;
    }

    function _balances(address holder, uint256 count) internal view returns (uint256[] memory held) {
        held = new uint256[](count + 1);
        for (uint256 id = 1; id <= count; ++id) {
            held[id] = carbon.balanceOf(holder, id);
        }
    }

    function _live(address holder, uint256 count) internal view returns (uint256 live) {
        for (uint256 id = 1; id <= count; ++id) {
            live += carbon.liveBalanceOf(holder, id);
        }
    }

    /// @dev After every action: retired totals must not have shrunk; a certificate seen expired
    ///      for the first time is photographed (holder balances and retired credits).
    function _observe() internal {
        uint256 count = carbon.certificateCount();
        for (uint256 id = 1; id <= count; ++id) {
            ICarbonCredit.EmissionData memory d = carbon.getEmissionReductions(id);
            if (d.retiredGrams < lastRetired[id]) ++ghostRetiredDecreased;
            lastRetired[id] = d.retiredGrams;
            if (!expiredSeen[id] && nowSeconds >= d.expiresAt) {
                expiredSeen[id] = true;
                retiredWhenExpired[id] = d.retiredGrams;
                for (uint256 k; k < HOLDERS; ++k) {
                    balanceWhenExpired[id][k] = carbon.balanceOf(holders[k], id);
                }
            }
        }
        uint256 retirements = carbon.retirementCount();
        if (retirements < lastRetirementCount) ++ghostRetiredDecreased;
        lastRetirementCount = retirements;
    }
}

contract CarbonInvariantsTest {
    CarbonHandler internal handler;
    CarbonCredit internal carbon;

    function setUp() public {
        handler = new CarbonHandler();
        carbon = handler.carbonUnderTest();
    }

    /// @dev Read by forge's invariant runner: only the handler is called.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev (a) A device's certificates are consecutive, non-overlapping lot ranges from its first
    ///      reading on; their energy adds up to the marker, which is what the registry minted
    ///      through the marker's reading and never more than the device minted in total.
    function invariant_certifiedEnergyIsMintedEnergyUsedOnce() public view {
        uint256 count = carbon.certificateCount();
        uint256[4] memory certifiedWh;
        uint256[4] memory lastSequence;
        uint256[4] memory lastVintageEnd;
        for (uint256 id = 1; id <= count; ++id) {
            ICarbonCredit.EmissionData memory d = carbon.getEmissionReductions(id);
            uint256 i = d.deviceId - 1;
            require(d.previousSequence == lastSequence[i], "range does not start where the last one ended");
            require(d.lastSequence > d.previousSequence, "empty range");
            require(d.vintageStart >= lastVintageEnd[i], "vintage overlaps the previous certificate");
            lastSequence[i] = d.lastSequence;
            lastVintageEnd[i] = d.vintageEnd;
            certifiedWh[i] += d.energyWh;
        }
        for (uint256 i; i < 4; ++i) {
            (uint256 sequence, uint256 mintedWh) = carbon.certifiedThrough(i + 1);
            require(sequence == lastSequence[i], "marker is not the last certified reading");
            require(certifiedWh[i] == mintedWh, "certificates' energy != marker");
            require(mintedWh == handler.ghostMintedThrough(i, sequence), "marker != energy minted through it");
            require(mintedWh <= handler.ghostMintedWh(i), "certified more than minted");
        }
        (uint256 gridMixSequence,) = carbon.certifiedThrough(4);
        require(gridMixSequence == 0, "grid-mix meter certified");
        require(handler.ghostUsedLotsCertified() == 0, "used lots or unbacked grams certified");
        require(handler.ghostGridMixCertified() == 0, "grid mix certified");
        require(handler.ghostReadingRefused() == 0, "handler: a reading was refused");
    }

    /// @dev (b) Every certificate's credits are its energy × its region's factor, rounded down.
    function invariant_creditsAreEnergyTimesFactor() public view {
        uint256 count = carbon.certificateCount();
        for (uint256 id = 1; id <= count; ++id) {
            ICarbonCredit.EmissionData memory d = carbon.getEmissionReductions(id);
            uint256 factor = handler.factorOf(d.deviceId - 1);
            require(d.emissionFactorGramsPerKWh == factor, "factor is not the region's");
            require(d.co2eGrams == d.energyWh * factor / 1000, "credits != energy x factor / 1000");
            require(d.co2eGrams * 1000 <= d.energyWh * factor, "credits above energy x factor");
            require(d.co2eGrams != 0, "empty certificate");
            require(d.co2eGrams == handler.ghostIssued(id), "credits != amount the verifier asked");
        }
    }

    /// @dev (c) No credit appears or vanishes: held + retired == issued, per certificate.
    function invariant_creditsAreConserved() public view {
        uint256 count = carbon.certificateCount();
        uint256 holders = handler.HOLDERS();
        for (uint256 id = 1; id <= count; ++id) {
            uint256 held;
            for (uint256 k; k < holders; ++k) {
                held += carbon.balanceOf(handler.holderAt(k), id);
            }
            ICarbonCredit.EmissionData memory d = carbon.getEmissionReductions(id);
            require(held + d.retiredGrams == d.co2eGrams, "held + retired != issued");
        }
    }

    /// @dev (d) From the moment a certificate is seen expired, its balances and retired credits
    ///      never change again.
    function invariant_expiredCreditsAreFrozen() public view {
        uint256 count = carbon.certificateCount();
        uint256 holders = handler.HOLDERS();
        for (uint256 id = 1; id <= count; ++id) {
            if (!handler.expiredSeen(id)) continue;
            for (uint256 k; k < holders; ++k) {
                require(
                    carbon.balanceOf(handler.holderAt(k), id) == handler.balanceWhenExpired(id, k),
                    "expired credits moved"
                );
                require(carbon.liveBalanceOf(handler.holderAt(k), id) == 0, "expired credits live");
            }
            require(
                carbon.getEmissionReductions(id).retiredGrams == handler.retiredWhenExpired(id), "retired after expiry"
            );
        }
        require(handler.ghostExpiredCreditsMoved() == 0, "a call moved expired credits");
        require(handler.ghostEarlyExpiryRecorded() == 0, "expiry recorded early");
    }

    /// @dev (e) Retired totals only grow, are exactly what landed retirements retired, and the
    ///      retirement log is the chain over the CreditsRetired events.
    function invariant_retiredOnlyGrows() public view {
        require(handler.ghostRetiredDecreased() == 0, "retired total shrank");
        require(handler.ghostRetireMismatch() == 0, "retireCredits retired another amount");
        uint256 count = carbon.certificateCount();
        for (uint256 id = 1; id <= count; ++id) {
            require(carbon.getEmissionReductions(id).retiredGrams == handler.ghostRetired(id), "retired != ghost");
        }
        require(carbon.retirementCount() == handler.ghostRetirements(), "retirement records != retirements");
        (uint256 logged, uint256 head) = carbon.retirementLog();
        require(logged == handler.ghostRetirements(), "log count != retirements");
        require(head == handler.ghostLogHead(), "log head != replay of the CreditsRetired events");
    }
}
